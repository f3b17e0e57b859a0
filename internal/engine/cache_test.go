package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zbuild/zbuild/internal/copier"
	"github.com/zbuild/zbuild/plan"
)

func TestChainKey(t *testing.T) {
	a := chainKey("p", "step", "inputs")
	if a != chainKey("p", "step", "inputs") {
		t.Fatal("chainKey is not deterministic")
	}
	// Part boundaries matter: ("ab","c") and ("a","bc") must differ.
	if chainKey("p", "ab", "c") == chainKey("p", "a", "bc") {
		t.Fatal("chainKey confuses part boundaries")
	}
	if chainKey("p1", "s") == chainKey("p2", "s") {
		t.Fatal("parent does not change the key")
	}
}

func TestMissReasons(t *testing.T) {
	kv := func(k, v string) plan.KV { return plan.KV{Key: k, Value: v} }
	fs := func(pairs ...string) []copier.FileSum {
		var out []copier.FileSum
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, copier.FileSum{Path: pairs[i], Sum: pairs[i+1]})
		}
		return out
	}
	base := slotRecord{Parent: "p", Step: "s", Base: "image:sha256:aaaaaaaaaaaaaaaa", Inputs: "context:x", Files: fs("a.txt", "1", "b.txt", "2")}
	tests := []struct {
		name string
		cur  func(r slotRecord) slotRecord
		want string
	}{
		{"base moved", func(r slotRecord) slotRecord { r.Base = "image:sha256:bbbbbbbbbbbbbbbb"; return r }, "base image digest changed (sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb)"},
		{"parent", func(r slotRecord) slotRecord { r.Parent = "q"; return r }, "a previous step changed"},
		{"arg changed", func(r slotRecord) slotRecord {
			r.Step, r.BuildArgs = "s2", []plan.KV{kv("V", "2")}
			return r
		}, `ARG V changed from "1" to "2"`},
		{"instruction", func(r slotRecord) slotRecord { r.Step = "s3"; return r }, "instruction changed"},
		{"file changed", func(r slotRecord) slotRecord {
			r.Inputs, r.Files = "context:y", fs("a.txt", "1", "b.txt", "3")
			return r
		}, "context file b.txt changed"},
		{"files added and removed", func(r slotRecord) slotRecord {
			r.Inputs, r.Files = "context:y", fs("c.txt", "1")
			return r
		}, "context file c.txt added (and 2 more)"},
		{"stage input", func(r slotRecord) slotRecord { r.Inputs = "stage:zzz"; return r }, "the --from stage changed"},
		{"same", func(r slotRecord) slotRecord { return r }, "no cache record (pruned, or built with --no-cache)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := base
			if tt.name == "arg changed" {
				old.BuildArgs = []plan.KV{kv("V", "1")}
			}
			e := &explainer{last: map[string]slotRecord{"0/1": old}, next: map[string]slotRecord{}}
			if got := e.reason("0/1", tt.cur(old)); got != tt.want {
				t.Errorf("reason = %q, want %q", got, tt.want)
			}
		})
	}
	e := &explainer{last: map[string]slotRecord{}, next: map[string]slotRecord{}}
	if got := e.reason("0/1", base); got != "no cache record" {
		t.Errorf("first build: %q", got)
	}
}

// The stat cache reuses a digest only when size, mtime, ctime and inode are
// unchanged; rewriting a file and restoring its mtime is noticed (ctime).
func TestStatHasher(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("one"), 0o644)
	h := &statHasher{entries: map[string]statEntry{}}
	digest := func() string {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		d, err := h.FileDigest(p, fi)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := digest()
	if digest() != first || h.reused != 1 || h.read != 1 {
		t.Fatalf("unchanged file re-read: read=%d reused=%d", h.read, h.reused)
	}
	fi, _ := os.Lstat(p)
	time.Sleep(10 * time.Millisecond) // ctime has to move for the check below to mean anything
	os.WriteFile(p, []byte("two"), 0o644)
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if digest() == first {
		t.Fatal("content rewritten with the same size and mtime kept its old digest")
	}
}
