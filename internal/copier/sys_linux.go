//go:build linux

package copier

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// meta is what Copy needs from a source inode's stat.
type meta struct {
	mode         fs.FileMode
	uid, gid     uint32
	atime, mtime time.Time
	size         int64
	nlink        uint64
	id           fileID
	rdev         uint64
}

// fileID identifies an inode, to keep hard links linked.
type fileID struct{ dev, ino uint64 }

func metaOf(fi fs.FileInfo) meta {
	m := meta{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime(), atime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.uid, m.gid = st.Uid, st.Gid
		m.atime = time.Unix(st.Atim.Unix())
		m.nlink = uint64(st.Nlink)
		m.id = fileID{dev: uint64(st.Dev), ino: st.Ino}
		m.rdev = uint64(st.Rdev)
	}
	return m
}

// lchown changes the owner of path itself, never a symlink's target.
func lchown(path string, uid, gid uint32) error {
	return unix.Lchown(path, int(uid), int(gid))
}

// setTimes sets atime and mtime of path itself (a symlink is not followed).
func setTimes(path string, atime, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// mknod creates a device node or fifo with the source's type and rdev.
func mknod(path string, m meta) error {
	mode := uint32(m.mode.Perm())
	switch {
	case m.mode&fs.ModeNamedPipe != 0:
		mode |= unix.S_IFIFO
	case m.mode&fs.ModeCharDevice != 0:
		mode |= unix.S_IFCHR
	case m.mode&fs.ModeDevice != 0:
		mode |= unix.S_IFBLK
	default:
		return errors.New("not a device or fifo")
	}
	return unix.Mknod(path, mode, int(m.rdev))
}

// skipXattr tells which extended attributes are the overlay file system's
// own bookkeeping: copying them into an overlay upper dir would corrupt it.
func skipXattr(name string) bool {
	return strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.")
}

// copyXattrs copies the extended attributes of src to dst, both not
// followed. Like BuildKit it is best effort: file systems without xattr
// support, or attributes the caller may not set, are skipped silently.
func copyXattrs(dst, src string, buf []byte) []byte {
	n, err := unix.Llistxattr(src, buf)
	if errors.Is(err, unix.ERANGE) {
		if n, err = unix.Llistxattr(src, nil); err != nil || n == 0 {
			return buf
		}
		buf = make([]byte, n*2)
		n, err = unix.Llistxattr(src, buf)
	}
	if err != nil || n == 0 {
		return buf
	}
	names := string(buf[:n])
	for name := range strings.SplitSeq(strings.TrimRight(names, "\x00"), "\x00") {
		if name == "" || skipXattr(name) {
			continue
		}
		sz, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			continue
		}
		val := make([]byte, sz)
		sz, err = unix.Lgetxattr(src, name, val)
		if err != nil {
			continue
		}
		_ = unix.Lsetxattr(dst, name, val[:sz], 0)
	}
	return buf
}

// setXattrs writes attributes read from an archive, best effort as above.
func setXattrs(path string, attrs map[string]string) {
	for name, val := range attrs {
		if skipXattr(name) {
			continue
		}
		_ = unix.Lsetxattr(path, name, []byte(val), 0)
	}
}

func platformSupported() error { return nil }

// oNoFollow makes opening a symlink fail instead of following it.
const oNoFollow = unix.O_NOFOLLOW

// openFile is os.OpenFile without the poller set-up Go attempts for every
// file it opens (several fcntl calls and a failing epoll_ctl); regular
// files never use the poller, and with 20,000 small files those calls add
// up to a tenth of the syscalls.
func openFile(name string, flag int, perm uint32) (*os.File, error) {
	for {
		fd, err := unix.Open(name, flag|unix.O_CLOEXEC, perm)
		if err == nil {
			return os.NewFile(uintptr(fd), name), nil
		}
		if err != unix.EINTR {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
}
