package copier

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/patternmatcher"

	"github.com/zbuild/zbuild/plan"
)

// Request describes one COPY or ADD step's local part.
type Request struct {
	// SrcRoot is the host directory sources are read from: the build
	// context, or another stage's or image's root file system. Nothing
	// outside it is read: ".." and symlinks are resolved as if it were "/".
	SrcRoot string
	// Sources are paths or globs (filepath.Match syntax, per path
	// component) relative to SrcRoot; a leading "/" is SrcRoot.
	Sources []string
	// Inline are heredoc files; Name is the file name placed at Dest.
	Inline []plan.InlineFile
	// DestRoot is the host directory of the root file system written to
	// (the overlay merged dir). Symlinks in it resolve inside it.
	DestRoot string
	// Dest is the absolute destination path inside DestRoot, already joined
	// with WORKDIR. A trailing "/" (or "/.") makes it a directory.
	Dest string
	// Owner owns everything written; nil means 0:0 (Docker's default for
	// COPY), or the source owner when KeepOwner is set.
	Owner *Owner
	// KeepOwner keeps the source uid/gid when Owner is nil. BuildKit does so
	// for COPY --from a stage or image; build-context files always become
	// 0:0, so leave it false for the context.
	KeepOwner bool
	// Chmod is "" (keep source modes), octal ("0755") or symbolic
	// ("u+x,g-w"; X as chmod(1)), applied to files and directories alike.
	Chmod string
	// Parents is COPY --parents: keep each source's path below SrcRoot, or
	// below the part before a "/./" pivot when there is one.
	Parents bool
	// Exclude are --exclude patterns (moby/patternmatcher syntax), matched
	// against paths relative to each copied source directory, and against
	// a glob's matches relative to the glob's directory.
	Exclude []string
	// Ignore is the .dockerignore matcher when SrcRoot is the build context,
	// matched against paths relative to SrcRoot; ignored files are invisible
	// as if they had never been sent. Copy does not use it concurrently.
	Ignore *patternmatcher.PatternMatcher
	// Unpack extracts local tar archives (plain, gzip, bzip2, xz or zstd,
	// detected by content) into Dest instead of copying them (ADD).
	Unpack bool
	// ModTime, when set (SOURCE_DATE_EPOCH), is an upper bound for the
	// access and modification times of everything written.
	ModTime *time.Time
}

// Stats counts what Copy wrote.
type Stats struct {
	// Files counts non-directories written: regular files, symlinks, hard
	// links, device nodes and fifos, from sources, heredocs and archives.
	Files int
	// Bytes is the size of the regular file contents written.
	Bytes int64
}

// ErrNotFound is returned (wrapped) when a source path, the directory of a
// glob, or a --parents path does not exist in SrcRoot or is hidden by
// .dockerignore. A glob that matches nothing is not an error (BuildKit).
var ErrNotFound = errors.New("not found")

// ErrNotDir is returned (wrapped) when the destination cannot be the
// directory the sources need: several sources copied to a path without a
// trailing "/", or a directory copied over a non-directory.
var ErrNotDir = errors.New("not a directory")

// ErrIsDir is returned (wrapped) when a non-directory would replace an
// existing directory, which BuildKit refuses too.
var ErrIsDir = errors.New("is a directory")

// Copy writes req's sources into req.DestRoot. Sources are resolved (and
// missing ones reported) before anything is written.
func Copy(ctx context.Context, req Request) (Stats, error) {
	if err := platformSupported(); err != nil {
		return Stats{}, err
	}
	c, err := newCopier(req)
	if err != nil {
		return Stats{}, err
	}
	items, err := c.resolve(ctx)
	if err != nil {
		return Stats{}, err
	}
	err = c.run(ctx, items)
	// Times of created parents are fixed last: writing into them moved them.
	if ferr := c.fixCreatedDirs(); err == nil {
		err = ferr
	}
	return c.stats, err
}

type copier struct {
	req      Request
	srcRoot  string
	destRoot string
	mode     *Mode
	exclude  *patternmatcher.PatternMatcher
	ignore   *patternmatcher.PatternMatcher
	links    map[fileID]string
	created  []string // destination parents Copy made, outermost first
	xbuf     []byte
	stats    Stats
	// pool writes the regular files of the directory item being copied;
	// finishing are its directories, in the order their metadata is set.
	pool      *filePool
	finishing []*dir
}

func newCopier(req Request) (*copier, error) {
	c := &copier{req: req, links: map[fileID]string{}, xbuf: make([]byte, 1024)}
	var err error
	if c.destRoot, err = rootDir("destination root", req.DestRoot); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(req.Dest, "/") {
		return nil, fmt.Errorf("destination %q must be absolute (joined with WORKDIR by the caller)", req.Dest)
	}
	if len(req.Sources) > 0 {
		if c.srcRoot, err = rootDir("source root", req.SrcRoot); err != nil {
			return nil, err
		}
	}
	if req.Chmod != "" {
		if c.mode, err = ParseMode(req.Chmod); err != nil {
			return nil, err
		}
	}
	if len(req.Exclude) > 0 {
		if c.exclude, err = patternmatcher.New(req.Exclude); err != nil {
			return nil, fmt.Errorf("parsing --exclude patterns: %w", err)
		}
	}
	if req.Ignore != nil {
		// A private copy: PatternMatcher compiles lazily and is not safe
		// for concurrent use, and the engine may share one across steps.
		if c.ignore, err = cloneMatcher(req.Ignore); err != nil {
			return nil, fmt.Errorf("copying .dockerignore patterns: %w", err)
		}
	}
	for _, f := range req.Inline {
		if b := path.Base(f.Name); f.Name == "" || b == "." || b == ".." || b == "/" {
			return nil, fmt.Errorf("heredoc file name %q is not a file name", f.Name)
		}
	}
	return c, nil
}

func rootDir(what, dir string) (string, error) {
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("%s %q must be an absolute host path", what, dir)
	}
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("opening %s: %w", what, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s %s: %w", what, dir, ErrNotDir)
	}
	return dir, nil
}

func cloneMatcher(pm *patternmatcher.PatternMatcher) (*patternmatcher.PatternMatcher, error) {
	var pats []string
	for _, p := range pm.Patterns() {
		s := p.String()
		if p.Exclusion() {
			s = "!" + s
		}
		pats = append(pats, s)
	}
	return patternmatcher.New(pats)
}

// destDirHint reports whether dest names a directory by its spelling.
func destDirHint(dest string) bool {
	return strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, "/.") || path.Clean(dest) == "/"
}

// run places every resolved item, then the heredocs.
func (c *copier) run(ctx context.Context, items []item) error {
	hint := destDirHint(c.req.Dest)
	dest, err := securejoin.SecureJoin(c.destRoot, path.Clean(c.req.Dest))
	if err != nil {
		return fmt.Errorf("resolving destination %s: %w", c.req.Dest, err)
	}
	// Several sources to a destination that is not a directory are each
	// placed there in turn, the last one winning, as BuildKit does (the
	// Dockerfile reference asks for a trailing "/"; Docker does not check).
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.place(ctx, it, dest, hint); err != nil {
			return err
		}
	}
	for _, f := range c.req.Inline {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.writeInline(ctx, f, dest, hint); err != nil {
			return err
		}
	}
	return nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// place copies one resolved source to the destination.
func (c *copier) place(ctx context.Context, it item, dest string, hint bool) error {
	// Hard links are kept within one source, as BuildKit copies each source
	// separately.
	clear(c.links)
	switch {
	case it.archive != nil:
		uid, gid := c.parentOwner()
		if err := c.mkdirAll(dest, fs.ModeDir|0o755, uid, gid); err != nil {
			return err
		}
		return c.unpack(ctx, it, dest)
	case it.meta.mode.IsDir():
		return c.copyTree(ctx, it, dest)
	default:
		target, err := c.fileTarget(dest, hint, it.base)
		if err != nil {
			return err
		}
		return c.copyEntry(ctx, it.host, target, it.meta)
	}
}

// copyTree copies the contents of the directory item into dest, which is
// created when missing. Regular files go through the pool; directory
// metadata is set once everything below is written.
func (c *copier) copyTree(ctx context.Context, it item, dest string) error {
	if within(dest, it.host) {
		return fmt.Errorf("cannot copy %s into itself (%s)", it.src, c.req.Dest)
	}
	uid, gid := c.parentOwner()
	if err := c.mkdirAll(dest, c.mode.dirPerm(), uid, gid); err != nil {
		return err
	}
	top := &dir{src: it.host, dst: dest, relCtx: it.relCtx, meta: it.meta, ig: it.ignore, made: true, top: true}
	if it.include != nil {
		top.inc = &includeState{pm: it.include, parts: it.includeParts}
	}
	c.pool = c.newPool(ctx)
	err := c.copyDir(ctx, top)
	if c.pool != nil {
		st, perr := c.pool.wait()
		c.stats.Files += st.Files
		c.stats.Bytes += st.Bytes
		c.pool = nil
		if err == nil {
			err = perr
		}
	}
	if err != nil {
		return err
	}
	for _, d := range c.finishing {
		if err := c.finishDir(d); err != nil {
			return err
		}
	}
	c.finishing = c.finishing[:0]
	return c.finishDir(top)
}

// fileTarget is where a non-directory source lands: inside dest when dest is
// (or is spelled as) a directory, else dest itself.
func (c *copier) fileTarget(dest string, hint bool, base string) (string, error) {
	uid, gid := c.parentOwner()
	if hint || isDir(dest) {
		if err := c.mkdirAll(dest, c.mode.dirPerm(), uid, gid); err != nil {
			return "", err
		}
		return filepath.Join(dest, base), nil
	}
	if err := c.mkdirAll(filepath.Dir(dest), c.mode.dirPerm(), uid, gid); err != nil {
		return "", err
	}
	return dest, nil
}

// writeInline writes a heredoc file. BuildKit makes it 0644 in a scratch
// state stamped with the build time, then copies it like any file.
func (c *copier) writeInline(ctx context.Context, f plan.InlineFile, dest string, hint bool) error {
	target, err := c.fileTarget(dest, hint, path.Base(f.Name))
	if err != nil {
		return err
	}
	perm := fs.FileMode(0o644)
	if f.Mode != 0 {
		perm = fromUnix(0, f.Mode&0o7777)
	}
	now := time.Now()
	m := meta{mode: perm, size: int64(len(f.Data)), atime: now, mtime: now}
	n, err := c.writeRegular(ctx, target, m, strings.NewReader(f.Data))
	if err != nil {
		return err
	}
	c.stats.Files++
	c.stats.Bytes += n
	return nil
}

// within reports whether p is root or below it (both clean host paths).
func within(p, root string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator)) || root == "/"
}

// owner is who a written entry belongs to.
func (c *copier) owner(m meta) (uint32, uint32) {
	switch {
	case c.req.Owner != nil:
		return c.req.Owner.UID, c.req.Owner.GID
	case c.req.KeepOwner:
		return m.uid, m.gid
	}
	return 0, 0
}

// parentOwner owns the destination parents Copy creates: root, unless
// --chown names someone (BuildKit chowns created parents too).
func (c *copier) parentOwner() (uint32, uint32) {
	if c.req.Owner != nil {
		return c.req.Owner.UID, c.req.Owner.GID
	}
	return 0, 0
}

// permOf is the mode a written entry gets.
func (c *copier) permOf(m meta) fs.FileMode {
	if c.mode != nil {
		return c.mode.Apply(m.mode)
	}
	return m.mode
}

// clamp applies ModTime as an upper bound.
func (c *copier) clamp(t time.Time) time.Time {
	if c.req.ModTime != nil && t.After(*c.req.ModTime) {
		return *c.req.ModTime
	}
	return t
}

// mkdirAll creates dir (a host path already resolved inside DestRoot) and
// its missing parents with perm and owner, as BuildKit's MkdirAll does. It
// walks down from DestRoot and refuses to pass a symlink, so a path that
// was resolved before cannot be redirected out of the root.
func (c *copier) mkdirAll(dir string, perm fs.FileMode, uid, gid uint32) error {
	rel, err := filepath.Rel(c.destRoot, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("destination %s is outside the root file system", dir)
	}
	if rel == "." {
		return nil
	}
	if fi, err := os.Lstat(dir); err == nil {
		if fi.IsDir() {
			return nil
		}
		return fmt.Errorf("creating directory %s: %w", c.show(dir), ErrNotDir)
	}
	cur := c.destRoot
	for part := range strings.SplitSeq(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("creating directory %s: %s exists: %w", c.show(dir), c.show(cur), ErrNotDir)
			}
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("creating directory %s: %w", c.show(dir), err)
		}
		if err := os.Mkdir(cur, 0o700); err != nil {
			return fmt.Errorf("creating directory %s: %w", c.show(cur), err)
		}
		if err := lchown(cur, uid, gid); err != nil {
			return fmt.Errorf("setting owner of %s: %w", c.show(cur), err)
		}
		if err := os.Chmod(cur, perm); err != nil {
			return fmt.Errorf("setting mode of %s: %w", c.show(cur), err)
		}
		c.created = append(c.created, cur)
	}
	return nil
}

// fixCreatedDirs clamps the times of created parents when ModTime is set;
// otherwise they keep the time they were made at, as in BuildKit. A
// created directory that took a source directory's times keeps those.
func (c *copier) fixCreatedDirs() error {
	if c.req.ModTime == nil {
		return nil
	}
	for i := len(c.created) - 1; i >= 0; i-- {
		fi, err := os.Lstat(c.created[i])
		if err != nil {
			return fmt.Errorf("reading %s: %w", c.show(c.created[i]), err)
		}
		m := metaOf(fi)
		if err := setTimes(c.created[i], c.clamp(m.atime), c.clamp(m.mtime)); err != nil {
			return fmt.Errorf("setting times of %s: %w", c.show(c.created[i]), err)
		}
	}
	return nil
}

// show turns a destination host path into the path inside the container,
// for messages.
func (c *copier) show(p string) string {
	rel, err := filepath.Rel(c.destRoot, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return path.Join("/", filepath.ToSlash(rel))
}
