//go:build !linux

package copier

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"time"
)

// The copier writes Linux root file systems (owners, device nodes, xattrs,
// symlink times); other hosts get a clear error from Copy instead of a
// silently different result. These definitions only keep the package
// compiling there.

type meta struct {
	mode         fs.FileMode
	uid, gid     uint32
	atime, mtime time.Time
	size         int64
	nlink        uint64
	id           fileID
	rdev         uint64
}

type fileID struct{ dev, ino uint64 }

func errPlatform() error {
	return fmt.Errorf("copying into a root file system is not supported on %s", runtime.GOOS)
}

func platformSupported() error { return errPlatform() }

const oNoFollow = 0

func metaOf(fi fs.FileInfo) meta {
	return meta{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime(), atime: fi.ModTime()}
}

func lchown(string, uint32, uint32) error         { return errPlatform() }
func setTimes(string, time.Time, time.Time) error { return errPlatform() }
func mknod(string, meta) error                    { return errPlatform() }
func copyXattrs(_, _ string, buf []byte) []byte   { return buf }
func setXattrs(string, map[string]string)         {}

func openFile(name string, flag int, perm uint32) (*os.File, error) {
	return os.OpenFile(name, flag, fs.FileMode(perm))
}
