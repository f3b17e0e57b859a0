package store

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/zbuild/zbuild/internal/testenv"
	"golang.org/x/sys/unix"
)

// countingLayer counts how often its content is read.
type countingLayer struct {
	v1.Layer
	reads atomic.Int32
}

func (c *countingLayer) Uncompressed() (io.ReadCloser, error) {
	c.reads.Add(1)
	return c.Layer.Uncompressed()
}

// Compressed counts too: Unpack reads gzip layers compressed and
// decompresses them itself.
func (c *countingLayer) Compressed() (io.ReadCloser, error) {
	c.reads.Add(1)
	return c.Layer.Compressed()
}

// lyingLayer claims a diff ID its content does not have.
type lyingLayer struct{ v1.Layer }

func (lyingLayer) DiffID() (v1.Hash, error) { return hashOf("not this"), nil }

func TestUnpackWhiteouts(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	s := newStore(t)
	base := tarLayer(t,
		dirEntry("etc/"), fileEntry("etc/keep", "k"), fileEntry("etc/gone", "g"),
		dirEntry("data/"), fileEntry("data/old", "o"),
	)
	top := tarLayer(t,
		dirEntry("etc/"), fileEntry("etc/.wh.gone", ""),
		dirEntry("data/"), fileEntry("data/.wh..wh..opq", ""), fileEntry("data/new", "n"),
	)
	baseDir, err := s.Unpack(ctx, base)
	if err != nil {
		t.Fatalf("Unpack(base): %v", err)
	}
	topDir, err := s.Unpack(ctx, top)
	if err != nil {
		t.Fatalf("Unpack(top): %v", err)
	}
	if !strings.HasPrefix(topDir, filepath.Join(s.Root(), "l")+"/") || len(filepath.Base(topDir)) != shortLen {
		t.Fatalf("short dir %s, want %s/l/<%d chars>", topDir, s.Root(), shortLen)
	}

	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(topDir, "etc", "gone"), &st); err != nil {
		t.Fatalf("whiteout missing: %v", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Fatalf("whiteout mode %o rdev %d, want char device 0/0", st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(topDir, "data"), "trusted.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Fatalf("opaque xattr = %q, %v; want y", buf[:n], err)
	}
	if _, err := os.Lstat(filepath.Join(topDir, "data", ".wh..wh..opq")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("opaque marker file written as a file")
	}

	// The kernel agrees: mount both as overlay lowers and look.
	merged := t.TempDir()
	if err := unix.Mount("overlay", merged, "overlay", unix.MS_RDONLY, "lowerdir="+topDir+":"+baseDir); err != nil {
		t.Fatalf("mounting overlay: %v", err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{"etc", []string{"keep"}},
		{"data", []string{"new"}},
	} {
		entries, err := os.ReadDir(filepath.Join(merged, tc.dir))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("merged %s = %v, want %v", tc.dir, names, tc.want)
		}
	}
}

func TestUnpackOnceConcurrently(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	s := newStore(t)
	layer := &countingLayer{Layer: tarLayer(t, dirEntry("bin/"), fileEntry("bin/tool", "#!/bin/sh\n"))}
	diffID, err := layer.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	// The diff ID is known without reading, so reads count only unpacks.
	layer.reads.Store(0)
	const workers = 8
	dirs := make([]string, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			d, err := s.Unpack(ctx, layer)
			if err != nil {
				t.Errorf("Unpack: %v", err)
			}
			dirs[i] = d
		})
	}
	wg.Wait()
	if n := layer.reads.Load(); n != 1 {
		t.Errorf("layer read %d times, want once", n)
	}
	for _, d := range dirs {
		if d != dirs[0] {
			t.Fatalf("Unpack returned %s and %s", dirs[0], d)
		}
	}
	if got, err := s.UnpackedDir(diffID); err != nil || got != dirs[0] {
		t.Fatalf("UnpackedDir = %s, %v", got, err)
	}
	if b, err := os.ReadFile(filepath.Join(dirs[0], "bin", "tool")); err != nil || string(b) != "#!/bin/sh\n" {
		t.Fatalf("unpacked content = %q, %v", b, err)
	}
	assertNoPartial(t, s)
}

func TestUnpackRejectsWrongDiffID(t *testing.T) {
	testenv.RequiresRoot(t)
	s := newStore(t)
	layer := lyingLayer{tarLayer(t, fileEntry("f", "x"))}
	if _, err := s.Unpack(context.Background(), layer); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Unpack = %v, want ErrInvalid", err)
	}
	if _, err := s.UnpackedDir(hashOf("not this")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a bad layer became visible: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Root(), dirLayers)); len(entries) != 0 {
		t.Fatalf("layers/ holds %d entries", len(entries))
	}
	assertNoPartial(t, s)
}

func TestAddUnpacked(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	diffID := hashOf("pretend layer")
	adopt := func() string {
		dir, err := s.TempDir("upper-")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "built"), []byte("ok"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	first := adopt()
	short, err := s.AddUnpacked(ctx, diffID, first)
	if err != nil {
		t.Fatalf("AddUnpacked: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(short, "built")); err != nil || string(b) != "ok" {
		t.Fatalf("adopted content = %q, %v", b, err)
	}
	if _, err := os.Stat(first); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("source dir still there")
	}
	// A second build made the same layer: its copy is dropped.
	second := adopt()
	again, err := s.AddUnpacked(ctx, diffID, second)
	if err != nil || again != short {
		t.Fatalf("second AddUnpacked = %s, %v; want %s", again, err, short)
	}
	if _, err := os.Stat(second); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("duplicate source dir kept")
	}
	assertNoPartial(t, s)
}

func TestShortLinkCollision(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	// Two diff IDs sharing the first 12 hex digits get distinct names.
	a := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 12) + hashOf("1").Hex[12:]}
	b := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 12) + hashOf("2").Hex[12:]}
	var dirs []string
	for _, h := range []v1.Hash{a, b} {
		src, err := s.TempDir("upper-")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, "id"), []byte(h.Hex), 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := s.AddUnpacked(ctx, h, src)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	if dirs[0] == dirs[1] {
		t.Fatalf("both layers linked at %s", dirs[0])
	}
	for i, h := range []v1.Hash{a, b} {
		if got, _ := os.ReadFile(filepath.Join(dirs[i], "id")); string(got) != h.Hex {
			t.Errorf("%s shows layer %q, want %s", dirs[i], got, h.Hex)
		}
	}
}

// TestUnpackStoredImage takes the road a build takes: store the base image,
// read it back from the store, unpack its layer.
func TestUnpackStoredImage(t *testing.T) {
	testenv.RequiresRoot(t)
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.PutImage(ctx, testenv.BusyboxImage(t), "busybox"); err != nil {
		t.Fatal(err)
	}
	img, _, err := s.Image(ctx, "busybox")
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := s.Unpack(ctx, layers[0])
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "bin", "sh")); err != nil || target != "busybox" {
		t.Fatalf("bin/sh -> %q, %v", target, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "tmp"))
	if err != nil || fi.Mode()&os.ModeSticky == 0 {
		t.Fatalf("tmp mode %v, %v; want sticky", fi.Mode(), err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "home", "app"), &st); err != nil || st.Uid != 1000 {
		t.Fatalf("home/app owner %d, %v; want 1000", st.Uid, err)
	}
}
