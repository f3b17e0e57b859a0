//go:build linux

package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// OCI whiteout names (image-spec layer.md).
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// copyBuf is the read size for file contents; ctx is checked once per buffer.
const copyBuf = 1 << 20

type inode struct{ dev, ino uint64 }

// tarWalker writes one upper dir as a tar stream in a fixed order: each
// directory's entry, then its opaque marker, then its children sorted by
// name, depth first.
type tarWalker struct {
	root  string
	tw    *tar.Writer
	epoch *time.Time
	links map[inode]string // first path written for a multiply-linked inode
	buf   []byte
}

func writeTar(ctx context.Context, upperDir string, w io.Writer, epoch *time.Time) error {
	st, err := os.Stat(upperDir)
	if err != nil {
		return fmt.Errorf("reading upper dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("upper dir %s is not a directory", upperDir)
	}
	tw := &tarWalker{
		root:  upperDir,
		tw:    tar.NewWriter(w),
		epoch: epoch,
		links: map[inode]string{},
		buf:   make([]byte, copyBuf),
	}
	if err := tw.walkDir(ctx, ""); err != nil {
		return err
	}
	if err := tw.tw.Close(); err != nil {
		return fmt.Errorf("finishing layer tar: %w", err)
	}
	return nil
}

func (t *tarWalker) walkDir(ctx context.Context, rel string) error {
	entries, err := os.ReadDir(filepath.Join(t.root, rel))
	if err != nil {
		return fmt.Errorf("reading %s in upper dir: %w", displayName(rel), err)
	}
	// os.ReadDir sorts by name; sort again to make the order a documented
	// property of this package rather than of os.
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		child := path.Join(rel, e.Name())
		descend, err := t.entry(ctx, child)
		if err != nil {
			return err
		}
		if descend {
			if err := t.walkDir(ctx, child); err != nil {
				return err
			}
		}
	}
	return nil
}

// entry writes the header (and content) for rel and reports whether rel is
// a directory whose children must follow.
func (t *tarWalker) entry(ctx context.Context, rel string) (bool, error) {
	full := filepath.Join(t.root, rel)
	var st unix.Stat_t
	if err := unix.Lstat(full, &st); err != nil {
		return false, fmt.Errorf("stat %s: %w", rel, err)
	}
	xattrs, err := readXattrs(full)
	if err != nil {
		return false, fmt.Errorf("reading xattrs of %s: %w", rel, err)
	}
	if err := checkOverlayFeatures(rel, xattrs); err != nil {
		return false, err
	}
	ftype := st.Mode & unix.S_IFMT
	if ftype == unix.S_IFSOCK {
		// A socket is a live endpoint, not content; tar cannot carry it
		// and Docker leaves sockets out of layers too.
		return false, nil
	}
	if isWhiteout(ftype, &st, xattrs) {
		// Whiteouts are all hard links to one inode (the kernel links
		// them to the work dir's whiteout), so they must never take the
		// hard-link path below.
		return false, t.tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg,
			Name:     path.Join(path.Dir(rel), whiteoutPrefix+path.Base(rel)),
			ModTime:  time.Unix(0, 0),
		})
	}

	hdr := &tar.Header{
		Name:    rel,
		Mode:    int64(st.Mode & 0o7777), // permission plus setuid, setgid, sticky
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: t.clamp(time.Unix(st.Mtim.Unix())),
	}
	for name, value := range xattrs {
		if keepXattr(name) {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords = map[string]string{}
			}
			hdr.PAXRecords["SCHILY.xattr."+name] = value
		}
	}

	if ftype != unix.S_IFDIR && st.Nlink > 1 {
		key := inode{dev: st.Dev, ino: st.Ino}
		if first, ok := t.links[key]; ok {
			hdr.Typeflag = tar.TypeLink
			hdr.Linkname = first
			return false, t.writeHeader(hdr)
		}
		t.links[key] = rel
	}

	switch ftype {
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		if err := t.writeHeader(hdr); err != nil {
			return false, err
		}
		if isOpaque(xattrs) {
			// The marker comes right after its directory, before any
			// entry the layer adds back into it.
			err := t.tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeReg,
				Name:     path.Join(rel, opaqueMarker),
				ModTime:  time.Unix(0, 0),
			})
			if err != nil {
				return false, fmt.Errorf("writing opaque marker of %s: %w", rel, err)
			}
		}
		return true, nil
	case unix.S_IFREG:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = st.Size
		if err := t.writeHeader(hdr); err != nil {
			return false, err
		}
		return false, t.copyFile(ctx, full, rel, st.Size)
	case unix.S_IFLNK:
		target, err := os.Readlink(full)
		if err != nil {
			return false, fmt.Errorf("reading symlink %s: %w", rel, err)
		}
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if ftype == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor = int64(unix.Major(st.Rdev))
		hdr.Devminor = int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return false, fmt.Errorf("%s has an unsupported file type %o", rel, ftype)
	}
	return false, t.writeHeader(hdr)
}

func (t *tarWalker) writeHeader(hdr *tar.Header) error {
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing tar header for %s: %w", hdr.Name, err)
	}
	return nil
}

func (t *tarWalker) clamp(mtime time.Time) time.Time {
	// Whole seconds: the default tar header holds no more, and it keeps
	// the stream independent of the file system's timestamp precision.
	mtime = mtime.Truncate(time.Second)
	if t.epoch != nil && mtime.After(*t.epoch) {
		return t.epoch.Truncate(time.Second)
	}
	return mtime
}

func (t *tarWalker) copyFile(ctx context.Context, full, rel string, size int64) error {
	f, err := os.Open(full)
	if err != nil {
		return fmt.Errorf("opening %s: %w", rel, err)
	}
	defer f.Close()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, rerr := f.Read(t.buf)
		if m > 0 {
			if n+int64(m) > size {
				return fmt.Errorf("%s grew while the layer was written", rel)
			}
			if _, err := t.tw.Write(t.buf[:m]); err != nil {
				return fmt.Errorf("writing %s to layer: %w", rel, err)
			}
			n += int64(m)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("reading %s: %w", rel, rerr)
		}
	}
	if n != size {
		return fmt.Errorf("%s shrank while the layer was written", rel)
	}
	return nil
}

// isWhiteout recognises overlayfs whiteouts: a 0/0 character device, or
// (kernels >= 6.7, for layers made by tools rather than by the kernel) an
// empty regular file marked with the overlay.whiteout xattr.
func isWhiteout(ftype uint32, st *unix.Stat_t, xattrs map[string]string) bool {
	if ftype == unix.S_IFCHR && st.Rdev == 0 {
		return true
	}
	if ftype == unix.S_IFREG && st.Size == 0 {
		_, t := xattrs["trusted.overlay.whiteout"]
		_, u := xattrs["user.overlay.whiteout"]
		return t || u
	}
	return false
}

func isOpaque(xattrs map[string]string) bool {
	return xattrs["trusted.overlay.opaque"] == "y" || xattrs["user.overlay.opaque"] == "y"
}

// checkOverlayFeatures rejects upper dirs written with redirect_dir or
// metacopy: their entries refer to lower files by xattr and cannot be
// expressed in a tar layer. The worker mounts with both turned off.
func checkOverlayFeatures(rel string, xattrs map[string]string) error {
	for _, prefix := range []string{"trusted.overlay.", "user.overlay."} {
		for _, feature := range []string{"redirect", "metacopy"} {
			if _, ok := xattrs[prefix+feature]; ok {
				return fmt.Errorf("%s was written by an overlay mounted with %s enabled, which cannot be turned into a layer (mount with redirect_dir=off,metacopy=off)", rel, feature)
			}
		}
	}
	return nil
}

// keepXattr says which extended attributes belong in the layer. Overlay's
// own bookkeeping (trusted.overlay.*, and user.overlay.* of userxattr
// mounts) would corrupt the image when unpacked, and security.selinux holds
// the build host's labels, not the image's.
func keepXattr(name string) bool {
	switch {
	case strings.HasPrefix(name, "trusted.overlay."), strings.HasPrefix(name, "user.overlay."):
		return false
	case name == "security.selinux":
		return false
	}
	return true
}

func readXattrs(p string) (map[string]string, error) {
	size, err := unix.Llistxattr(p, nil)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		value, err := getXattr(p, name)
		if errors.Is(err, unix.ENODATA) {
			continue // removed between list and get
		}
		if err != nil {
			return nil, fmt.Errorf("reading xattr %s: %w", name, err)
		}
		out[name] = value
	}
	return out, nil
}

func getXattr(p, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(p, name, buf)
		if errors.Is(err, unix.ERANGE) {
			size, err := unix.Lgetxattr(p, name, nil)
			if err != nil {
				return "", err
			}
			buf = make([]byte, size)
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
}

func displayName(rel string) string {
	if rel == "" {
		return "/"
	}
	return rel
}
