package copier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/patternmatcher"
)

type readAll struct{}

func (readAll) FileDigest(p string, _ fs.FileInfo) (string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

func digestOf(t *testing.T, root string, req Request) (string, []FileSum) {
	t.Helper()
	req.SrcRoot = root
	d, sums, err := Digest(context.Background(), req, readAll{})
	if err != nil {
		t.Fatal(err)
	}
	return d, sums
}

func TestDigest(t *testing.T) {
	root := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Many directories, so the concurrent walk has work to interleave.
	for d := 0; d < 30; d++ {
		for f := 0; f < 5; f++ {
			write(fmt.Sprintf("src/d%02d/f%d.txt", d, f), fmt.Sprintf("%d-%d", d, f))
		}
	}
	write("src/skip.log", "ignored")
	os.Symlink("d00/f0.txt", filepath.Join(root, "src", "link"))
	ignore, err := patternmatcher.New([]string{"src/*.log"})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Sources: []string{"src"}, Ignore: ignore}
	base, sums := digestOf(t, root, req)
	for i := 0; i < 5; i++ {
		if again, _ := digestOf(t, root, req); again != base {
			t.Fatal("digest is not deterministic")
		}
	}
	if len(sums) != 1+30+150+1 { // src itself, dirs, files, link
		t.Errorf("%d entries digested", len(sums))
	}
	for _, s := range sums {
		if s.Path == "src/skip.log" {
			t.Error("an ignored file was digested")
		}
	}
	changes := []struct {
		name   string
		change func()
		same   bool
	}{
		{"mtime only", func() {
			later := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(root, "src/d03/f1.txt"), later, later)
		}, true},
		{"ignored file", func() { write("src/skip.log", "changed") }, true},
		{"content", func() { write("src/d03/f1.txt", "XX-1") }, false},
		{"mode", func() { os.Chmod(filepath.Join(root, "src/d04/f1.txt"), 0o600) }, false},
		{"symlink target", func() {
			os.Remove(filepath.Join(root, "src", "link"))
			os.Symlink("d01/f0.txt", filepath.Join(root, "src", "link"))
		}, false},
		{"new file", func() { write("src/d05/new.txt", "n") }, false},
	}
	prev := base
	for _, c := range changes {
		c.change()
		got, _ := digestOf(t, root, req)
		if (got == prev) != c.same {
			t.Errorf("%s: digest changed=%v, want changed=%v", c.name, got != prev, !c.same)
		}
		prev = got
	}
	// --exclude is honoured like in Copy.
	withEx, _ := digestOf(t, root, Request{Sources: []string{"src"}, Ignore: ignore, Exclude: []string{"d05"}})
	if withEx == prev {
		t.Error("--exclude did not change what is digested")
	}
}
