package copier

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// archive marks an item as a tar archive to extract, and how it is
// compressed ("" for a plain tar).
type archive struct {
	compression string
}

// Magic numbers of the compressions ADD extracts, as moby's archive
// package detects them: by content, never by file name.
var magics = []struct {
	name  string
	magic []byte
}{
	{"gzip", []byte{0x1f, 0x8b, 0x08}},
	{"bzip2", []byte("BZh")},
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
}

// decompress returns the uncompressed stream of r and its compression.
func decompress(r io.Reader) (io.ReadCloser, string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(6)
	comp := ""
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			comp = m.name
			break
		}
	}
	switch comp {
	case "gzip":
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, comp, err
		}
		return zr, comp, nil
	case "bzip2":
		return io.NopCloser(bzip2.NewReader(br)), comp, nil
	case "xz":
		xr, err := xz.NewReader(br)
		if err != nil {
			return nil, comp, err
		}
		return io.NopCloser(xr), comp, nil
	case "zstd":
		// One goroutine: layers are extracted one at a time on a small
		// machine, and the default starts one per core.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, comp, err
		}
		return zr.IOReadCloser(), comp, nil
	}
	return io.NopCloser(br), "", nil
}

// detectArchive reports whether the regular file at p is a tar archive
// (possibly compressed) by reading its first header, as BuildKit does. A
// file that is not one, or is damaged, is not an archive: ADD copies it.
func detectArchive(p string) (*archive, error) {
	f, err := openFile(p, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, comp, err := decompress(f)
	if err != nil {
		return nil, nil
	}
	defer r.Close()
	if _, err := tar.NewReader(r).Next(); err != nil {
		return nil, nil
	}
	return &archive{compression: comp}, nil
}

// unpack extracts the archive item into dest (a host directory inside
// DestRoot) as Docker's ADD does: entry names are kept inside dest ("../x"
// lands at dest/x, as in Docker's chrooted untar), symlinks met on the way
// resolve inside dest, an existing entry is replaced unless both are
// directories, owners come from the archive (or Owner), and whiteout files
// are written as they are, not interpreted.
func (c *copier) unpack(ctx context.Context, it item, dest string) error {
	f, err := openFile(it.host, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", it.src, err)
	}
	defer f.Close()
	r, _, err := decompress(f)
	if err != nil {
		return fmt.Errorf("decompressing %s: %w", it.src, err)
	}
	defer r.Close()
	x := &extractor{c: c, dest: dest, tr: tar.NewReader(r)}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := x.tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading archive %s: %w", it.src, err)
		}
		if err := x.entry(ctx, hdr); err != nil {
			return fmt.Errorf("extracting %s from %s: %w", hdr.Name, it.src, err)
		}
	}
	// Directory times last: extracting into a directory changes its mtime.
	for _, d := range x.dirs {
		if err := setTimes(d.path, d.atime, d.mtime); err != nil {
			return fmt.Errorf("setting times of %s: %w", c.show(d.path), err)
		}
	}
	return nil
}

type extractor struct {
	c    *copier
	dest string
	tr   *tar.Reader
	dirs []dirTimes
}

type dirTimes struct {
	path         string
	atime, mtime time.Time
}

// inDest resolves an archive path inside dest: the parent through symlinks
// (chroot-like, never leaving dest), the last component as it is.
func (x *extractor) inDest(name string) (string, error) {
	clean := path.Clean("/" + name)
	if clean == "/" {
		return x.dest, nil
	}
	parent, base := path.Split(clean)
	p, err := securejoin.SecureJoin(x.dest, parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(p, base), nil
}

func (x *extractor) entry(ctx context.Context, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	target, err := x.inDest(hdr.Name)
	if err != nil {
		return err
	}
	if target == x.dest {
		// The archive's root: Docker keeps the existing destination as is.
		return nil
	}
	// Implied parents are made as Docker makes them: 0755, owned by root.
	if err := x.c.mkdirAll(filepath.Dir(target), fs.ModeDir|0o755, 0, 0); err != nil {
		return err
	}
	if fi, err := os.Lstat(target); err == nil && !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
		if err := os.RemoveAll(target); err != nil {
			return err
		}
	}
	m := meta{
		mode:  fromUnix(hdr.FileInfo().Mode(), uint32(hdr.Mode)&0o7777),
		uid:   uint32(hdr.Uid),
		gid:   uint32(hdr.Gid),
		atime: hdr.AccessTime,
		mtime: hdr.ModTime,
		size:  hdr.Size,
		rdev:  unixDev(hdr.Devmajor, hdr.Devminor),
	}
	if m.atime.IsZero() {
		m.atime = m.mtime
	}
	chmod := true
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case tar.TypeReg, '\x00', tar.TypeGNUSparse: // '\x00' is the pre-POSIX regular file (TypeRegA)
		var out *os.File
		if out, err = openFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600); err != nil {
			return err
		}
		n, err := x.c.copyData(ctx, out, x.tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		x.c.stats.Bytes += n
	case tar.TypeLink:
		first, err := x.inDest(hdr.Linkname)
		if err != nil {
			return err
		}
		if err := os.Link(first, target); err != nil {
			return err
		}
		// The inode already has its metadata; a link to a symlink must not
		// chmod the symlink's target.
		x.c.stats.Files++
		return nil
	case tar.TypeSymlink:
		if err := os.Symlink(hdr.Linkname, target); err != nil {
			return err
		}
		chmod = false
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := mknod(target, m); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	uid, gid := m.uid, m.gid
	if x.c.req.Owner != nil {
		uid, gid = x.c.req.Owner.UID, x.c.req.Owner.GID
	}
	if err := lchown(target, uid, gid); err != nil {
		return fmt.Errorf("setting owner: %w", err)
	}
	if chmod {
		if err := os.Chmod(target, m.mode); err != nil {
			return fmt.Errorf("setting mode: %w", err)
		}
	}
	setXattrs(target, paxXattrs(hdr))
	at, mt := x.c.clamp(m.atime), x.c.clamp(m.mtime)
	if hdr.Typeflag == tar.TypeDir {
		x.dirs = append(x.dirs, dirTimes{path: target, atime: at, mtime: mt})
		return nil
	}
	if err := setTimes(target, at, mt); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	x.c.stats.Files++
	return nil
}

// paxXattrs returns the extended attributes a tar header carries.
func paxXattrs(hdr *tar.Header) map[string]string {
	var out map[string]string
	for k, v := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if out == nil {
				out = map[string]string{}
			}
			out[name] = v
		}
	}
	return out
}

// unixDev encodes a device number the way Linux's makedev does.
func unixDev(major, minor int64) uint64 {
	ma, mi := uint64(major), uint64(minor)
	return (ma&0xfff)<<8 | (mi & 0xff) | (ma&^0xfff)<<32 | (mi&^0xff)<<12
}
