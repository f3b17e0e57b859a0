package dockerfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zbuild/zbuild/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files of the corpus")

// corpusOptions is a case's options.json: the conversion options, with
// platforms as strings and base image configs standing in for a registry.
type corpusOptions struct {
	BuildArgs      map[string]string      `json:"buildArgs"`
	Target         string                 `json:"target"`
	TargetPlatform string                 `json:"targetPlatform"`
	BuildPlatform  string                 `json:"buildPlatform"`
	Images         map[string]ImageConfig `json:"images"`
}

func loadCorpusOptions(t *testing.T, dir string) Options {
	t.Helper()
	opts := Options{TargetPlatform: amd64, BuildPlatform: amd64}
	data, err := os.ReadFile(filepath.Join(dir, "options.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return opts
	}
	if err != nil {
		t.Fatal(err)
	}
	var co corpusOptions
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&co); err != nil {
		t.Fatalf("options.json: %v", err)
	}
	opts.BuildArgs, opts.Target = co.BuildArgs, co.Target
	for _, p := range []struct {
		s   string
		dst *plan.Platform
	}{{co.TargetPlatform, &opts.TargetPlatform}, {co.BuildPlatform, &opts.BuildPlatform}} {
		if p.s != "" {
			if *p.dst, err = parsePlatform(p.s); err != nil {
				t.Fatalf("options.json: %v", err)
			}
		}
	}
	if co.Images != nil {
		opts.Resolver = &images{configs: co.Images}
	}
	return opts
}

// encodeGolden is the golden form of v: indented JSON without HTML escapes.
func encodeGolden(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	return b.Bytes(), err
}

// warningsGolden lists warnings and unused build args one per line.
func warningsGolden(res *Result) []byte {
	var b bytes.Buffer
	for _, w := range res.Warnings {
		fmt.Fprintf(&b, "%s %d:%d %s\n", w.RuleName, w.Pos.Line, w.Pos.Column, w.Message)
	}
	return b.Bytes()
}

// checkGolden compares got with the file, or rewrites it with -update.
// Empty content means the file must not exist.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && len(got) == 0 {
		return
	}
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update and review the diff):\n%s", path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first differing line, with its number.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}

// TestCorpus converts every testdata/corpus/<case>/Dockerfile and checks
// its plan.golden (the graph) and warnings.golden (lint findings, when any).
func TestCorpus(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "corpus", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 30 {
		t.Fatalf("corpus has %d cases, want at least 30", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Convert(context.Background(), src, loadCorpusOptions(t, dir))
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			if err := res.Graph.Validate(); err != nil {
				t.Fatalf("invalid graph: %v", err)
			}
			graph, err := encodeGolden(res.Graph)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(dir, "plan.golden"), graph)
			checkGolden(t, filepath.Join(dir, "warnings.golden"), warningsGolden(res))
		})
	}
}
