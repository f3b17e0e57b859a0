//go:build linux

package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	w := newWorker(t)
	layer := func(files map[string]string) string {
		dir := t.TempDir()
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	top := layer(map[string]string{"shared": "top", "top-only": "t"})
	bottom := layer(map[string]string{"shared": "bottom", "bottom-only": "b"})
	// Enough long lowers to pass a page of mount options: the new mount
	// API path.
	var many []string
	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 100), strings.Repeat("e", 100))
	for i := range 40 {
		dir := filepath.Join(deep, fmt.Sprintf("layer-%03d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "shared"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		many = append(many, dir)
	}
	if n := len(strings.Join(many, ":")); n < os.Getpagesize() {
		t.Fatalf("test lowers only take %d bytes", n)
	}
	tests := []struct {
		name   string
		lowers []string
		want   map[string]string // file → content; "" means absent
	}{
		{"no lowers", nil, map[string]string{"shared": ""}},
		{"top first", []string{top, bottom}, map[string]string{"shared": "top", "top-only": "t", "bottom-only": "b"}},
		{"bottom first", []string{bottom, top}, map[string]string{"shared": "bottom"}},
		{"beyond one page of options", many, map[string]string{"shared": "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := prepare(t, w, tt.lowers...)
			for name, want := range tt.want {
				data, err := os.ReadFile(filepath.Join(s.Merged, name))
				if want == "" {
					if !errors.Is(err, os.ErrNotExist) {
						t.Errorf("%s exists (%v)", name, err)
					}
					continue
				}
				if string(data) != want {
					t.Errorf("%s = %q, %v; want %q", name, data, err, want)
				}
			}
			// Writes land in the upper dir only.
			if err := os.WriteFile(filepath.Join(s.Merged, "new"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := s.Unmount(); err != nil {
				t.Fatal(err)
			}
			if err := s.Unmount(); err != nil {
				t.Fatalf("second Unmount: %v", err)
			}
			if _, err := os.Stat(filepath.Join(s.Upper, "new")); err != nil {
				t.Errorf("upper lacks the new file: %v", err)
			}
			for _, l := range tt.lowers {
				if _, err := os.Stat(filepath.Join(l, "new")); err == nil {
					t.Errorf("lower %s was written to", l)
				}
			}
		})
	}
	t.Run("remove", func(t *testing.T) {
		s, err := w.Prepare(context.Background(), []string{top})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Dir(s.Upper)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("snapshot dir left: %v", err)
		}
		if m := mountsUnder(t, w.root); len(m) > 0 {
			t.Errorf("mounts left: %q", m)
		}
	})
	bad := []struct {
		name   string
		lowers []string
	}{
		{"relative", []string{"layer"}},
		{"missing", []string{filepath.Join(t.TempDir(), "missing")}},
		{"file", []string{filepath.Join(top, "shared")}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := w.Prepare(context.Background(), tt.lowers); err == nil {
				s.Remove()
				t.Fatal("Prepare accepted a bad lower")
			}
		})
	}
}

func TestNew(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		opts    []Option
		wantErr error
		prefix  string
	}{
		{name: "default", prefix: "crun "},
		{name: "crun", opts: []Option{WithRuntime("crun")}, prefix: "crun "},
		{name: "runc", opts: []Option{WithRuntime("runc")}, prefix: "runc "},
		{name: "missing runtime", opts: []Option{WithRuntime("no-such-runtime")}, wantErr: ErrHost},
		{name: "not a runtime", opts: []Option{WithRuntime("true")}, wantErr: ErrHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, bin := range []string{"crun", "runc"} {
				if strings.HasPrefix(tt.prefix, bin) {
					if _, err := exec.LookPath(bin); err != nil {
						t.Skipf("%s not installed", bin)
					}
				}
			}
			w, err := New(filepath.Join(t.TempDir(), "root"), tt.opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(w.Runtime(), tt.prefix) {
				t.Errorf("Runtime() = %q, want prefix %q", w.Runtime(), tt.prefix)
			}
		})
	}
	t.Run("cache root default", func(t *testing.T) {
		base := t.TempDir()
		w, err := New(filepath.Join(base, "worker"))
		if err != nil {
			t.Fatal(err)
		}
		if w.cacheRoot != filepath.Join(base, "cache") {
			t.Errorf("cache root %s", w.cacheRoot)
		}
	})
}

// TestCrunNamespaceStaysPrivate runs crun several times and checks that
// the process's main thread (what /proc/self shows) is still in the host
// mount namespace: the cgroup workaround must not leak into it.
func TestCrunNamespaceStaysPrivate(t *testing.T) {
	lower := busyboxRootfs(t)
	if _, err := exec.LookPath("crun"); err != nil {
		t.Skip("crun not installed")
	}
	w := newWorker(t, WithRuntime("crun"))
	if !w.rt.hideUnified {
		t.Skip("host has no hybrid cgroup layout; crun runs as is")
	}
	for range 8 {
		s := prepare(t, w, lower)
		if _, err := run(t, w, s, "true", RunSpec{}); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("readlink", "/proc/self/ns/mnt").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != self {
		t.Fatalf("main thread is in mount namespace %s, new processes in %s", self, got)
	}
}
