package main

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
)

func TestRun(t *testing.T) {
	testenv.RequiresBinary(t, "/bin/busybox")
	ctx := context.Background()
	want, err := testenv.BusyboxImage(t).Digest()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("oci layout, twice", func(t *testing.T) {
		dir := t.TempDir()
		for range 2 {
			if err := run(ctx, []string{"-oci", dir, "-tag", "busybox:test"}); err != nil {
				t.Fatal(err)
			}
		}
		p, err := layout.FromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := p.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 1 || im.Manifests[0].Digest != want ||
			im.Manifests[0].Annotations[store.AnnotationRefName] != "docker.io/library/busybox:test" {
			t.Fatalf("index.json = %+v", im.Manifests)
		}
		img, err := p.Image(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(img); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("store", func(t *testing.T) {
		root := t.TempDir()
		if err := run(ctx, []string{"-store", root}); err != nil {
			t.Fatal(err)
		}
		s, err := store.Open(root)
		if err != nil {
			t.Fatal(err)
		}
		if _, d, err := s.Image(ctx, "busybox"); err != nil || d != want {
			t.Fatalf("store has busybox %s, %v; want %s", d, err, want)
		}
	})

	t.Run("push", func(t *testing.T) {
		reg := testenv.StartRegistry(t)
		if err := run(ctx, []string{"-push", reg.Host + "/base/busybox:1"}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("bad usage", func(t *testing.T) {
		for _, args := range [][]string{nil, {"-oci", "a", "-store", "b"}, {"-oci", "a", "extra"}} {
			if err := run(ctx, args); err == nil {
				t.Errorf("run(%q) succeeded", args)
			}
		}
	})
}
