//go:build linux

package copier

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCopyIntoOverlay copies into the merged directory of a real overlay
// mount, as the engine does, and checks that the upper directory (the
// future layer) holds exactly the change and the lower one is untouched.
func TestCopyIntoOverlay(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"lower", "upper", "work", "merged", "ctx"} {
		dirs[d] = filepath.Join(base, d)
		if err := os.Mkdir(dirs[d], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The image: /etc/os-release, /app a symlink to /srv, /srv/old.
	build(t, dirs["lower"], file("etc/os-release", "base", 0o644), dirn("srv", 0o755), file("srv/old", "old", 0o644), symlink("app", "/srv"))
	build(t, dirs["ctx"], file("src/main.go", "package main", 0o644), file("src/lib/lib.go", "package lib", 0o600), symlink("src/link", "main.go"))
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", dirs["lower"], dirs["upper"], dirs["work"])
	if err := syscall.Mount("overlay", dirs["merged"], "overlay", 0, opts); err != nil {
		t.Skipf("overlay mount unavailable: %v", err)
	}
	defer syscall.Unmount(dirs["merged"], 0)

	st, err := Copy(context.Background(), Request{SrcRoot: dirs["ctx"], DestRoot: dirs["merged"], Sources: []string{"src"}, Dest: "/app/"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Files: 3, Bytes: int64(len("package main") + len("package lib"))}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	checkTree(t, dirs["merged"], map[string]string{
		"app": "l /srv", "srv/old": "f 0644 0:0 old", "srv/main.go": "f 0644 0:0 package main",
		"srv/lib/lib.go": "f 0600 0:0 package lib", "srv/link": "l main.go", "etc/os-release": "f 0644 0:0 base",
	}, false)
	// The upper dir is the layer: only /srv (copied up) and the new files.
	checkTree(t, dirs["upper"], map[string]string{
		"srv": "d 0755 0:0", "srv/main.go": "f 0644 0:0 package main", "srv/lib": "d 0755 0:0",
		"srv/lib/lib.go": "f 0600 0:0 package lib", "srv/link": "l main.go",
	}, true)
	checkTree(t, dirs["lower"], map[string]string{
		"app": "l /srv", "etc": "d 0755 0:0", "etc/os-release": "f 0644 0:0 base", "srv": "d 0755 0:0", "srv/old": "f 0644 0:0 old",
	}, true)
}
