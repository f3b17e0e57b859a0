package store

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func bindMount(src, dst string) error { return unix.Mount(src, dst, "", unix.MS_BIND, "") }
func unmount(dst string) error        { return unix.Unmount(dst, unix.MNT_DETACH) }

func TestLocks(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	tests := []struct {
		name       string
		held, want func(context.Context) (*Lock, error)
		blocks     bool
	}{
		{name: "shared with shared", held: s.Shared, want: s.Shared},
		{name: "exclusive waits for shared", held: s.Shared, want: s.Exclusive, blocks: true},
		{name: "shared waits for exclusive", held: s.Exclusive, want: s.Shared, blocks: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			held, err := tc.held(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Unlock()
			short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
			defer cancel()
			got, err := tc.want(short)
			if tc.blocks {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("second lock = %v, want it to wait", err)
				}
				held.Unlock()
				if got, err = tc.want(ctx); err != nil {
					t.Fatalf("after release: %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if err := got.Unlock(); err != nil {
				t.Fatal(err)
			}
			if err := got.Unlock(); err != nil {
				t.Fatalf("second Unlock: %v", err)
			}
		})
	}
}

func TestDefaultRoot(t *testing.T) {
	tests := []struct {
		name, zbuildRoot, xdg, home string
		want                        string
		nonRoot                     bool
	}{
		{name: "env wins", zbuildRoot: "/srv/zb", xdg: "/x", want: "/srv/zb"},
		{name: "root", want: "/var/lib/zbuild"},
		{name: "user xdg", nonRoot: true, xdg: "/x", home: "/h", want: "/x/zbuild"},
		{name: "user home", nonRoot: true, home: "/h", want: "/h/.local/share/zbuild"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.nonRoot == (unix.Geteuid() == 0) && tc.zbuildRoot == "" {
				t.Skipf("skipping: this case is for %s", map[bool]string{true: "non-root users", false: "root"}[tc.nonRoot])
			}
			t.Setenv("ZBUILD_ROOT", tc.zbuildRoot)
			t.Setenv("XDG_DATA_HOME", tc.xdg)
			t.Setenv("HOME", tc.home)
			if got := DefaultRoot(); got != tc.want {
				t.Fatalf("DefaultRoot() = %q, want %q", got, tc.want)
			}
		})
	}
}
