//go:build linux

package linux

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Runtimes create a mount point for every mount whose target is missing in
// the root file system (/proc, /dev, /etc/resolv.conf, cache targets…), and
// those stubs would end up in the layer. As BuildKit does, Run records the
// missing targets before the container starts and afterwards removes each
// one that is still an empty dir or empty file, restoring the parent's
// times. Directories that overlayfs copied up only because a stub was
// created in them are dropped from the upper dir after unmount, when they
// are still empty and unchanged, so the layer holds the command's changes
// and nothing else.

// dirState is an existing directory that had no upper copy before a run,
// with the ownership and mode it had then.
type dirState struct {
	rel      string
	mode     uint32
	uid, gid uint32
}

type stubCleaner struct {
	merged string
	stubs  []string   // paths (relative to merged) missing before the run
	dirs   []dirState // their existing ancestors that were not in upper
}

// recordStubs notes, for each mount target, which path components do not
// exist yet in merged, and which existing ancestors have no upper copy.
// Targets are resolved inside merged, so symlinks in the image cannot
// point the bookkeeping at the host.
func recordStubs(merged, upper string, targets []string) *stubCleaner {
	c := &stubCleaner{merged: merged}
	seen := map[string]bool{}
	for _, target := range targets {
		clean := path.Clean("/" + target)
		if clean == "/" {
			continue
		}
		real, err := securejoin.SecureJoin(merged, clean)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(merged, real)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			continue
		}
		missing := false
		p := rel
		for ; p != "."; p = filepath.Dir(p) {
			_, err := os.Lstat(filepath.Join(merged, p))
			if err == nil {
				break
			}
			if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENOTDIR) {
				break
			}
			missing = true
			if !seen[p] {
				seen[p] = true
				c.stubs = append(c.stubs, p)
			}
		}
		if !missing {
			continue
		}
		// p is the deepest existing ancestor: creating the stub copies it
		// and its ancestors up unless they already are in upper.
		for a := p; a != "."; a = filepath.Dir(a) {
			if seen["dir:"+a] {
				break
			}
			seen["dir:"+a] = true
			if _, err := os.Lstat(filepath.Join(upper, a)); err == nil {
				break
			}
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(merged, a), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
				break
			}
			c.dirs = append(c.dirs, dirState{rel: a, mode: st.Mode, uid: st.Uid, gid: st.Gid})
		}
	}
	return c
}

// clean removes the stubs that are still empty, deepest first, and returns
// the copied-up dirs for the snapshot to drop after unmount.
func (c *stubCleaner) clean() ([]dirState, error) {
	sort.Slice(c.stubs, func(i, j int) bool {
		di, dj := strings.Count(c.stubs[i], "/"), strings.Count(c.stubs[j], "/")
		if di != dj {
			return di > dj
		}
		return c.stubs[i] > c.stubs[j]
	})
	var errs []error
	for _, p := range c.stubs {
		full := filepath.Join(c.merged, p)
		st, err := os.Lstat(full)
		if err != nil {
			continue // created inside another mount (/dev/shm…), or never
		}
		if st.IsDir() {
			entries, err := os.ReadDir(full)
			if err != nil || len(entries) > 0 {
				continue
			}
		} else if !st.Mode().IsRegular() || st.Size() != 0 {
			continue
		}
		parent := filepath.Dir(full)
		var pst unix.Stat_t
		if err := unix.Stat(parent, &pst); err != nil {
			errs = append(errs, fmt.Errorf("removing mount stub %s: %w", p, err))
			continue
		}
		if err := os.Remove(full); err != nil {
			errs = append(errs, fmt.Errorf("removing mount stub %s: %w", p, err))
			continue
		}
		// The removal must not show up as a change of the parent.
		times := []unix.Timespec{pst.Atim, pst.Mtim}
		if err := unix.UtimesNano(parent, times); err != nil {
			errs = append(errs, fmt.Errorf("restoring times of %s: %w", filepath.Dir(p), err))
		}
	}
	return c.dirs, errors.Join(errs...)
}

// dropCopiedUp removes, deepest first, the upper copies of dirs that are
// empty, not opaque and still owned and moded as before the run: with the
// overlay unmounted, removing them shows the lower dir unchanged.
func dropCopiedUp(upper string, dirs []dirState) error {
	sort.Slice(dirs, func(i, j int) bool {
		return strings.Count(dirs[i].rel, "/") > strings.Count(dirs[j].rel, "/")
	})
	for _, d := range dirs {
		full := filepath.Join(upper, d.rel)
		var st unix.Stat_t
		if err := unix.Lstat(full, &st); err != nil {
			continue
		}
		if st.Mode != d.mode || st.Uid != d.uid || st.Gid != d.gid {
			continue
		}
		entries, err := os.ReadDir(full)
		if err != nil || len(entries) > 0 {
			continue
		}
		if v, err := getxattr(full, "trusted.overlay.opaque"); err == nil && v == "y" {
			continue
		}
		if err := os.Remove(full); err != nil {
			return fmt.Errorf("dropping copied-up dir %s: %w", d.rel, err)
		}
	}
	return nil
}

func getxattr(p, name string) (string, error) {
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
