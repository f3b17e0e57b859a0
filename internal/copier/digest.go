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
	"sync"

	"github.com/moby/patternmatcher"
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
	d := &digester{c: c, h: h, sem: make(chan struct{}, digestWorkers)}
	// Matchers compile their patterns on first use; do it now, before
	// directories are walked concurrently (compiled, they are read-only).
	for _, pm := range []*patternmatcher.PatternMatcher{c.ignore, c.exclude} {
		if pm != nil {
			if _, err := pm.MatchesOrParentMatches("."); err != nil {
				return "", nil, err
			}
		}
	}
	var sums []FileSum
	for _, it := range items {
		fi, err := os.Lstat(it.host)
		if err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", it.host, err)
		}
		f, err := d.add(it.relCtx, it.host, it.meta, fi)
		if err != nil {
			return "", nil, err
		}
		sums = append(sums, f)
		if !it.meta.mode.IsDir() {
			continue
		}
		top := &dir{src: it.host, relCtx: it.relCtx, meta: it.meta, ig: it.ignore, top: true}
		if it.include != nil {
			top.inc = &includeState{pm: it.include, parts: it.includeParts}
			if _, err := it.include.MatchesOrParentMatches("."); err != nil {
				return "", nil, err
			}
		}
		below, err := d.walk(ctx, top)
		if err != nil {
			return "", nil, err
		}
		sums = append(sums, below...)
	}
	sum := sha256.New()
	for _, f := range sums {
		fmt.Fprintf(sum, "%s\x00%s\n", f.Path, f.Sum)
	}
	return "sha256:" + hex.EncodeToString(sum.Sum(nil)), sums, nil
}

// digestWorkers bounds the directories read at once: stat calls dominate a
// large context, and a few in flight keep both cores busy.
const digestWorkers = 8

type digester struct {
	c   *copier
	h   Hasher
	sem chan struct{}
}

// walk mirrors copyDir: the same filters decide what is taken. It returns
// the sums of everything below parent in a fixed order (entries by name,
// each directory's own entry before its contents); subdirectories are
// walked concurrently when a worker is free.
func (d *digester) walk(ctx context.Context, parent *dir) ([]FileSum, error) {
	entries, err := os.ReadDir(parent.src)
	if err != nil {
		return nil, fmt.Errorf("reading directory %s: %w", parent.src, err)
	}
	parts := make([][]FileSum, len(entries))
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		child := &dir{parent: parent, inc: parent.inc, relCtx: path.Join(parent.relCtx, e.Name()), relItem: path.Join(parent.relItem, e.Name())}
		take, walk, err := d.c.filter(parent, child, e.IsDir())
		if err != nil {
			return nil, err
		}
		if !take && !walk {
			continue
		}
		child.src = filepath.Join(parent.src, e.Name())
		fi, err := os.Lstat(child.src)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", child.src, err)
		}
		child.meta = metaOf(fi)
		if take {
			f, err := d.add(child.relCtx, child.src, child.meta, fi)
			if err != nil {
				return nil, err
			}
			parts[i] = []FileSum{f}
		}
		if !fi.IsDir() {
			continue
		}
		below := func() {
			sub, err := d.walk(ctx, child)
			parts[i], errs[i] = append(parts[i], sub...), err
		}
		select {
		case d.sem <- struct{}{}:
			wg.Add(1)
			go func() {
				defer func() { <-d.sem; wg.Done() }()
				below()
			}()
		default:
			below()
		}
	}
	wg.Wait()
	var out []FileSum
	for i := range parts {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, parts[i]...)
	}
	return out, nil
}

// add records one entry: type and permissions, size, link target or
// content digest. fi is the entry's Lstat, handed to the Hasher so it can
// decide from it whether the content must be read.
func (d *digester) add(rel, host string, m meta, fi fs.FileInfo) (FileSum, error) {
	s := m.mode.Type().String() + strconv.FormatUint(uint64(m.mode.Perm()|m.mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)), 8)
	if d.c.req.KeepOwner {
		s += " " + strconv.FormatUint(uint64(m.uid), 10) + ":" + strconv.FormatUint(uint64(m.gid), 10)
	}
	switch {
	case m.mode.IsRegular():
		sum, err := d.h.FileDigest(host, fi)
		if err != nil {
			return FileSum{}, err
		}
		s += " " + strconv.FormatInt(m.size, 10) + " " + sum
	case m.mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(host)
		if err != nil {
			return FileSum{}, fmt.Errorf("reading link %s: %w", host, err)
		}
		s += " -> " + target
	case m.mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		s += " dev " + strconv.FormatUint(m.rdev, 10)
	}
	if rel == "" {
		rel = "."
	}
	return FileSum{Path: rel, Sum: s}, nil
}
