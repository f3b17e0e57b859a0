//go:build linux

package copier

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// node describes one file system entry of a test tree, as data.
type node struct {
	path string
	kind byte // 'f' file, 'd' dir, 'l' symlink, 'h' hard link to link, 'p' fifo
	data string
	mode fs.FileMode
	link string
	uid  int
	gid  int
	// mtime, when set, is applied after the tree is built.
	mtime time.Time
}

func file(p, data string, mode fs.FileMode) node {
	return node{path: p, kind: 'f', data: data, mode: mode}
}
func dirn(p string, mode fs.FileMode) node { return node{path: p, kind: 'd', mode: mode} }
func symlink(p, target string) node        { return node{path: p, kind: 'l', link: target} }
func hardlink(p, target string) node       { return node{path: p, kind: 'h', link: target} }

func (n node) owned(uid, gid int) node { n.uid, n.gid = uid, gid; return n }
func (n node) at(t time.Time) node     { n.mtime = t; return n }

// build creates nodes under root in order (parents must come first or exist).
func build(t *testing.T, root string, nodes ...node) {
	t.Helper()
	for _, n := range nodes {
		p := filepath.Join(root, n.path)
		var err error
		switch n.kind {
		case 'f':
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.WriteFile(p, []byte(n.data), 0o600)
			}
		case 'd':
			err = os.MkdirAll(p, 0o755)
		case 'l':
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.Symlink(n.link, p)
			}
		case 'h':
			err = os.Link(filepath.Join(root, n.link), p)
		case 'p':
			err = syscall.Mkfifo(p, 0o600)
		}
		if err != nil {
			t.Fatalf("building %s: %v", n.path, err)
		}
		if n.kind != 'l' && n.kind != 'h' && n.mode != 0 {
			if err := os.Chmod(p, n.mode); err != nil {
				t.Fatal(err)
			}
		}
		if n.uid != 0 || n.gid != 0 {
			if err := os.Lchown(p, n.uid, n.gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Times last, deepest first, so creating children does not move them.
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if !n.mtime.IsZero() {
			if err := setTimes(filepath.Join(root, n.path), n.mtime, n.mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// describe renders an entry the way test tables spell expectations:
// "f 0644 0:0 data", "d 0755 0:0", "l target", "p 0600 0:0".
func describe(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		return "missing"
	}
	st := fi.Sys().(*syscall.Stat_t)
	own := fmt.Sprintf("%d:%d", st.Uid, st.Gid)
	mode := fmt.Sprintf("%04o", toUnix(fi.Mode()))
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(p)
		return "l " + target
	case fi.IsDir():
		return "d " + mode + " " + own
	case fi.Mode()&fs.ModeNamedPipe != 0:
		return "p " + mode + " " + own
	case fi.Mode().IsRegular():
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return "f " + mode + " " + own + " " + string(data)
	}
	return "other " + fi.Mode().String()
}

// listTree lists every path below root (slash form, sorted), root excluded.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// checkTree compares the listed paths' descriptions, and (when all is set)
// that nothing else exists.
func checkTree(t *testing.T, root string, want map[string]string, all bool) {
	t.Helper()
	for p, w := range want {
		if got := describe(t, filepath.Join(root, p)); got != w {
			t.Errorf("%s: got %q, want %q", p, got, w)
		}
	}
	if all {
		var extra []string
		for _, p := range listTree(t, root) {
			if _, ok := want[p]; !ok {
				extra = append(extra, p)
			}
		}
		if len(extra) > 0 {
			t.Errorf("unexpected entries: %s", strings.Join(extra, ", "))
		}
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the copier sets owners and the tests check them")
	}
}

func mtimeOf(t *testing.T, p string) time.Time {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

// mkSocket leaves a unix socket file at p, mode 0640.
func mkSocket(p string) error {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		return err
	}
	l.SetUnlinkOnClose(false)
	if err := l.Close(); err != nil {
		return err
	}
	return os.Chmod(p, 0o640)
}
