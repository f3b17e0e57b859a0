package copier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
)

// Hasher gives the content digest of a regular file. The engine implements
// it with a stat cache so unchanged files are not read again.
type Hasher interface {
	FileDigest(hostPath string, fi fs.FileInfo) (string, error)
}

// FileSum is one input of a Digest: a path relative to SrcRoot and what
// Digest recorded of it, so a cache miss can name the file that changed.
type FileSum struct {
	Path string `json:"path"`
	Sum  string `json:"sum"`
}

// Digest hashes everything Copy would read for req, selected by the same
// rules (globs, .dockerignore, --exclude, --parents), without writing:
// names, types, permission bits, sizes, symlink targets and file contents
// (owners too when KeepOwner is set). Modification times are left out, as
// BuildKit does, so touching a file does not change its digest. Inline
// files and the destination are the step's own data, not inputs.
func Digest(ctx context.Context, req Request, h Hasher) (string, []FileSum, error) {
	req.DestRoot, req.Dest = "/", "/"
	c, err := newCopier(req)
	if err != nil {
		return "", nil, err
	}
	if len(req.Sources) == 0 {
		return "", nil, nil
	}
	items, err := c.resolve(ctx)
	if err != nil {
		return "", nil, err
	}
	d := &digester{c: c, h: h}
	for _, it := range items {
		if err := d.add(it.relCtx, it.host, it.meta); err != nil {
			return "", nil, err
		}
		if !it.meta.mode.IsDir() {
			continue
		}
		top := &dir{src: it.host, relCtx: it.relCtx, meta: it.meta, ig: it.ignore, top: true}
		if it.include != nil {
			top.inc = &includeState{pm: it.include, parts: it.includeParts}
		}
		if err := d.walk(ctx, top); err != nil {
			return "", nil, err
		}
	}
	sum := sha256.New()
	for _, f := range d.sums {
		fmt.Fprintf(sum, "%s\x00%s\n", f.Path, f.Sum)
	}
	return "sha256:" + hex.EncodeToString(sum.Sum(nil)), d.sums, nil
}

type digester struct {
	c    *copier
	h    Hasher
	sums []FileSum
}

// walk mirrors copyDir: the same filters decide what is taken.
func (d *digester) walk(ctx context.Context, parent *dir) error {
	entries, err := os.ReadDir(parent.src)
	if err != nil {
		return fmt.Errorf("reading directory %s: %w", parent.src, err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		child := &dir{parent: parent, inc: parent.inc, relCtx: path.Join(parent.relCtx, e.Name()), relItem: path.Join(parent.relItem, e.Name())}
		take, walk, err := d.c.filter(parent, child, e.IsDir())
		if err != nil {
			return err
		}
		if !take && !walk {
			continue
		}
		child.src = filepath.Join(parent.src, e.Name())
		fi, err := os.Lstat(child.src)
		if err != nil {
			return fmt.Errorf("reading %s: %w", child.src, err)
		}
		child.meta = metaOf(fi)
		if take {
			if err := d.add(child.relCtx, child.src, child.meta); err != nil {
				return err
			}
		}
		if fi.IsDir() {
			if err := d.walk(ctx, child); err != nil {
				return err
			}
		}
	}
	return nil
}

// add records one entry: type and permissions, size, link target or
// content digest.
func (d *digester) add(rel, host string, m meta) error {
	s := m.mode.Type().String() + strconv.FormatUint(uint64(m.mode.Perm()|m.mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)), 8)
	if d.c.req.KeepOwner {
		s += " " + strconv.FormatUint(uint64(m.uid), 10) + ":" + strconv.FormatUint(uint64(m.gid), 10)
	}
	switch {
	case m.mode.IsRegular():
		fi, err := os.Lstat(host)
		if err != nil {
			return fmt.Errorf("reading %s: %w", host, err)
		}
		sum, err := d.h.FileDigest(host, fi)
		if err != nil {
			return err
		}
		s += " " + strconv.FormatInt(m.size, 10) + " " + sum
	case m.mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(host)
		if err != nil {
			return fmt.Errorf("reading link %s: %w", host, err)
		}
		s += " -> " + target
	case m.mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		s += " dev " + strconv.FormatUint(m.rdev, 10)
	}
	if rel == "" {
		rel = "."
	}
	d.sums = append(d.sums, FileSum{Path: rel, Sum: s})
	return nil
}
