package dockerfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzConvert checks that no input makes Convert panic, that every error is
// an *Error, and that every plan it returns is valid.
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*", "Dockerfile"))
	benches, _ := filepath.Glob(filepath.Join(benchCases, "*", "Dockerfile"))
	for _, p := range append(files, benches...) {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src, "")
		}
	}
	f.Add([]byte("FROM alpine AS a\nFROM a\nONBUILD RUN x\n"), "a")
	f.Add([]byte("ARG X=${Y:-z}\nFROM ${X}\nRUN --mount=type=cache,target=/$X true\n"), "")
	configs := map[string]ImageConfig{
		"alpine": {OnBuild: []string{"COPY --from=0 / /", "RUN <<EOF\n#!/bin/sh\nEOF"}},
	}
	f.Fuzz(func(t *testing.T, src []byte, target string) {
		im := &images{configs: configs}
		res, err := Convert(context.Background(), src, Options{Target: target, Resolver: im, TargetPlatform: amd64, BuildPlatform: amd64})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			_ = e.Error()
			return
		}
		if err := res.Graph.Validate(); err != nil {
			t.Fatalf("invalid graph: %v", err)
		}
	})
}
