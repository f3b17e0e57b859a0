//go:build linux

package linux

import (
	"context"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCacheMount(t *testing.T) {
	w := newWorker(t)
	ctx := context.Background()
	t.Run("created with owner and mode", func(t *testing.T) {
		dir, release, err := w.CacheMount(ctx, "owned", "", 1000, 1001, 0o700)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 1000 || st.Gid != 1001 || st.Mode&0o7777 != 0o700 {
			t.Errorf("cache dir is %d:%d %o", st.Uid, st.Gid, st.Mode&0o7777)
		}
	})
	t.Run("shared", func(t *testing.T) {
		a, ra, err := w.CacheMount(ctx, "go-build", "shared", 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, rb, err := w.CacheMount(ctx, "go-build", "", 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("shared users got %s and %s", a, b)
		}
		ra()
		rb()
		other, ro, err := w.CacheMount(ctx, "other-id", "shared", 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		ro()
		if other == a {
			t.Error("two ids share a dir")
		}
	})
	t.Run("private", func(t *testing.T) {
		a, ra, err := w.CacheMount(ctx, "apt", "private", 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, rb, err := w.CacheMount(ctx, "apt", "private", 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if a == b {
			t.Fatal("concurrent private users got the same dir")
		}
		rb()
		c, rc, err := w.CacheMount(ctx, "apt", "private", 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer rc()
		if c != b {
			t.Errorf("a freed private dir was not reused: got %s, want %s", c, b)
		}
		ra()
	})
	t.Run("locked", func(t *testing.T) {
		a, ra, err := w.CacheMount(ctx, "npm", "locked", 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		// A second user waits; with its context already done it gives up.
		done, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := w.CacheMount(done, "npm", "locked", 0, 0, 0); !errors.Is(err, context.Canceled) {
			t.Fatalf("second locked user got %v, want it to wait until cancelled", err)
		}
		ra()
		b, rb, err := w.CacheMount(ctx, "npm", "locked", 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		rb()
		if a != b {
			t.Errorf("locked users got %s and %s", a, b)
		}
	})
	t.Run("errors", func(t *testing.T) {
		if _, _, err := w.CacheMount(ctx, "", "", 0, 0, 0); err == nil {
			t.Error("empty id accepted")
		}
		if _, _, err := w.CacheMount(ctx, "x", "exclusive", 0, 0, 0); err == nil {
			t.Error("unknown sharing mode accepted")
		}
	})
}

// TestCacheMountPersists runs two steps that append to the same cache:
// the second sees the first's write, and neither's layer holds the cache.
func TestCacheMountPersists(t *testing.T) {
	lower := busyboxRootfs(t)
	forEachRuntime(t, func(t *testing.T, w *Worker) {
		for i, want := range []string{"1\n", "1\n2\n"} {
			dir, release, err := w.CacheMount(context.Background(), "/root/.cache/x", "locked", 1000, 1000, 0)
			if err != nil {
				t.Fatal(err)
			}
			s := prepare(t, w, lower)
			out, err := run(t, w, s, "echo "+itoa(uint64(i+1))+" >> /root/.cache/x/log && cat /root/.cache/x/log", RunSpec{
				User:   "app",
				Mounts: []Mount{{Type: MountCache, Target: "/root/.cache/x", Source: dir}},
			})
			release()
			if err != nil {
				t.Fatal(err)
			}
			if out != want {
				t.Errorf("run %d: cache holds %q, want %q", i, out, want)
			}
			if err := s.Unmount(); err != nil {
				t.Fatal(err)
			}
			if got := upperEntries(t, s); len(got) > 0 {
				t.Errorf("upper has %q", got)
			}
		}
		if entries, _ := os.ReadDir(w.cacheRoot); len(entries) != 1 {
			t.Errorf("cache root holds %d caches, want 1", len(entries))
		}
	})
}
