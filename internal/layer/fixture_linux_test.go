//go:build linux

package layer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// requireOverlay skips tests that need root and a working overlayfs.
func requireOverlay(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount overlayfs, create whiteouts and device nodes")
	}
	if _, err := os.Stat("/sys/module/overlay"); err != nil {
		if data, _ := os.ReadFile("/proc/filesystems"); !strings.Contains(string(data), "overlay") {
			t.Skip("overlayfs is not available in this kernel")
		}
	}
}

type fixture struct {
	lower, upper string
	// merged describes the merged view after the changes (see tree).
	merged map[string]string
}

// capV2 is a security.capability value (VFS_CAP_REVISION_2) granting
// cap_net_bind_service, as setcap would write it.
func capV2() []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000000|1) // revision 2, effective
	binary.LittleEndian.PutUint32(b[4:], 1<<10)        // permitted: CAP_NET_BIND_SERVICE
	return b
}

// makeUpper builds a lower dir, mounts a real overlay over it, makes every
// kind of change a RUN step can make through the merged view, records the
// merged tree and unmounts, leaving the upper dir to turn into a layer.
func makeUpper(t testing.TB) fixture {
	t.Helper()
	requireOverlay(t)
	base := t.TempDir()
	f := fixture{lower: filepath.Join(base, "lower"), upper: filepath.Join(base, "upper")}
	work, merged := filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{f.lower, f.upper, work, merged} {
		must(t, os.MkdirAll(d, 0o755))
	}
	l := func(p string) string { return filepath.Join(f.lower, p) }
	for _, d := range []string{"etc", "dir1/sub", "dir2", "bin", "keepdir"} {
		must(t, os.MkdirAll(l(d), 0o755))
	}
	for p, data := range map[string]string{
		"etc/conf": "old", "etc/gone": "x", "etc/gone2": "y", "dir1/x": "1", "dir1/sub/y": "2",
		"dir2/keep": "k", "dir2/stay": "s", "bin/tool": "#!/bin/sh\n", "keepdir/file": "same",
	} {
		must(t, os.WriteFile(l(p), []byte(data), 0o644))
	}
	must(t, os.Link(l("dir2/stay"), l("dir2/stay-link")))

	opts := "lowerdir=" + f.lower + ",upperdir=" + f.upper + ",workdir=" + work + ",index=off,redirect_dir=off,metacopy=off"
	must(t, unix.Mount("overlay", merged, "overlay", 0, opts))
	mounted := true
	t.Cleanup(func() {
		if mounted {
			unix.Unmount(merged, unix.MNT_DETACH)
		}
	})

	m := func(p string) string { return filepath.Join(merged, p) }
	must(t, os.WriteFile(m("etc/conf"), []byte("new content"), 0o644))
	for _, p := range []string{"etc/gone", "etc/gone2", "dir2/keep"} {
		must(t, os.Remove(m(p)))
	}
	must(t, os.RemoveAll(m("dir1")))
	must(t, os.Mkdir(m("dir1"), 0o750))
	must(t, os.WriteFile(m("dir1/new"), []byte("after opaque"), 0o600))
	must(t, os.MkdirAll(m("newdir"), 0o755))
	must(t, os.WriteFile(m("newdir/a"), []byte("linked"), 0o644))
	must(t, os.Link(m("newdir/a"), m("newdir/b")))
	must(t, os.Symlink("a", m("newdir/link")))
	must(t, os.WriteFile(m("newdir/suid"), []byte("s"), 0o755))
	// unix.Chmod: os.Chmod takes os.FileMode, where 0o4000 is not setuid.
	must(t, unix.Chmod(m("newdir/suid"), 0o4755))
	must(t, os.Mkdir(m("newdir/sticky"), 0o755))
	must(t, unix.Chmod(m("newdir/sticky"), 0o1777))
	must(t, os.Mkdir(m("newdir/setgid"), 0o755))
	must(t, unix.Chmod(m("newdir/setgid"), 0o2755))
	must(t, unix.Mkfifo(m("newdir/fifo"), 0o644))
	must(t, unix.Mknod(m("newdir/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(t, unix.Chmod(m("newdir/null"), 0o666)) // mknod applies the umask
	must(t, os.WriteFile(m("newdir/owned"), []byte("o"), 0o644))
	must(t, os.Lchown(m("newdir/owned"), 1000, 1001))
	must(t, unix.Lsetxattr(m("newdir/a"), "user.foo", []byte("bar"), 0))
	must(t, unix.Lsetxattr(m("newdir/owned"), "security.capability", capV2(), 0))
	must(t, os.Chmod(m("bin/tool"), 0o700))
	sock, err := net.Listen("unix", m("newdir/sock"))
	must(t, err)
	sock.(*net.UnixListener).SetUnlinkOnClose(false)
	sock.Close()
	long := strings.Repeat("long-name-", 12)
	must(t, os.MkdirAll(m("newdir/"+long), 0o755))
	must(t, os.WriteFile(m("newdir/"+long+"/"+long), []byte("pax path"), 0o644))

	f.merged = tree(t, merged)
	must(t, unix.Unmount(merged, 0))
	mounted = false
	return f
}

// tree describes every entry under dir: type, mode, owner, size, content
// hash or link target, device numbers, link count, the xattrs an image
// keeps, and (not for dirs and symlinks) the mtime in whole seconds.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%o uid=%d gid=%d", st.Mode, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			desc += fmt.Sprintf(" size=%d sha=%s nlink=%d mtime=%d", len(data), hex.EncodeToString(sum[:8]), st.Nlink, st.Mtim.Sec)
		case unix.S_IFLNK:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case unix.S_IFSOCK:
			return nil // not content: layers leave sockets out
		case unix.S_IFCHR, unix.S_IFBLK:
			desc += fmt.Sprintf(" dev=%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		names := listXattrs(t, p)
		sort.Strings(names)
		for _, n := range names {
			if strings.HasPrefix(n, "user.") || n == "security.capability" {
				v := make([]byte, 64)
				k, _ := unix.Lgetxattr(p, n, v)
				desc += fmt.Sprintf(" %s=%x", n, v[:k])
			}
		}
		out[rel] = desc
		return nil
	})
	must(t, err)
	return out
}

func listXattrs(t testing.TB, p string) []string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return nil
	}
	var names []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			names = append(names, s)
		}
	}
	return names
}

func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	must(t, os.MkdirAll(dst, 0o755))
	if out, err := exec.Command("cp", "-a", src+"/.", dst+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
