package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/zbuild/zbuild/internal/testenv"
)

func TestGC(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	shared := tarLayer(t, fileEntry("base", "shared"))
	onlyA := tarLayer(t, fileEntry("a", "a"))
	onlyB := tarLayer(t, fileEntry("b", "b"))
	imgA, imgB := imageOf(t, shared, onlyA), imageOf(t, shared, onlyB)
	dA, err := s.PutImage(ctx, imgA, "a")
	if err != nil {
		t.Fatal(err)
	}
	dB, err := s.PutImage(ctx, imgB, "b")
	if err != nil {
		t.Fatal(err)
	}
	// Unpacked forms of all three layers (adopted, so no root is needed).
	links := map[v1.Hash]string{}
	for _, l := range []v1.Layer{shared, onlyA, onlyB} {
		id, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		dir, err := s.TempDir("upper-")
		if err != nil {
			t.Fatal(err)
		}
		if links[id], err = s.AddUnpacked(ctx, id, dir); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.TempDir("crashed-build-"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, "b"); err != nil {
		t.Fatal(err)
	}

	res, err := s.GC(ctx)
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	// B's manifest, config and own layer go; its unpacked layer goes.
	if res.Blobs != 3 || res.Layers != 1 || res.TempFiles != 1 {
		t.Fatalf("GC = %+v, want 3 blobs, 1 layer, 1 temp entry", res)
	}
	mB, _ := imgB.Manifest()
	for _, h := range []v1.Hash{dB, mB.Config.Digest, mB.Layers[1].Digest} {
		if s.HasBlob(h) {
			t.Errorf("blob %s of removed image kept", h)
		}
	}
	idB, _ := onlyB.DiffID()
	if _, err := s.UnpackedDir(idB); !errors.Is(err, ErrNotFound) {
		t.Errorf("unpacked layer of removed image kept: %v", err)
	}
	if _, err := os.Lstat(links[idB]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dangling link %s kept", links[idB])
	}
	if _, err := os.Stat(s.layerLockPath(idB.Hex)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file of removed layer kept")
	}
	for _, l := range []v1.Layer{shared, onlyA} {
		id, _ := l.DiffID()
		if got, err := s.UnpackedDir(id); err != nil || got != links[id] {
			t.Errorf("unpacked layer %s of kept image: %s, %v", id, got, err)
		}
	}
	img, d, err := s.Image(ctx, "a")
	if err != nil || d != dA {
		t.Fatalf("Image(a) after GC = %s, %v", d, err)
	}
	mustValidate(t, img)
	p, err := layout.FromPath(s.LayoutPath())
	if err != nil {
		t.Fatal(err)
	}
	fromLayout, err := p.Image(dA)
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, fromLayout)

	// Nothing left to collect the second time.
	if res, err := s.GC(ctx); err != nil || res != (GCResult{}) {
		t.Fatalf("second GC = %+v, %v", res, err)
	}
}

func TestGCWaitsForBuilds(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	// A build holds the store shared and has written a blob it has not
	// tagged yet.
	build, err := s.Shared(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := s.WriteBlob(ctx, stringsReader("fresh layer"), v1.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.GC(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GC during a build = %v, want it to wait", err)
	}
	if !s.HasBlob(h) {
		t.Fatal("GC removed a running build's blob")
	}
	if err := build.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if s.HasBlob(h) {
		t.Fatal("unreferenced blob kept after the build ended")
	}
}

func TestGCSkipsMounts(t *testing.T) {
	testenv.RequiresRoot(t)
	s := newStore(t)
	dir, err := s.TempDir("build-")
	if err != nil {
		t.Fatal(err)
	}
	// A crashed build left a bind mount of something precious.
	precious := t.TempDir()
	if err := os.WriteFile(filepath.Join(precious, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "ctx")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := bindMount(precious, target); err != nil {
		t.Fatalf("bind mount: %v", err)
	}
	defer unmount(target)
	if _, err := s.GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(precious, "keep")); err != nil {
		t.Fatalf("GC removed files through a mount: %v", err)
	}
}
