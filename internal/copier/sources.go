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
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/patternmatcher"
)

// item is one resolved source: a file or directory in SrcRoot that is
// placed at the destination as a whole.
type item struct {
	src    string // the source as written, for messages
	host   string // resolved host path (a named symlink is followed)
	relCtx string // host path relative to SrcRoot, slash-separated; "" is the root
	base   string // the name a non-directory gets inside a destination directory
	meta   meta
	// ignore is the .dockerignore state of relCtx, for walking below it.
	ignore patternmatcher.MatchInfo
	// include and includeParts filter a --parents copy: only paths matching
	// the pattern (relative to host) and the directories leading to them.
	include      *patternmatcher.PatternMatcher
	includeParts []string
	// archive is set when the item is a tar archive to extract (ADD).
	archive *archive
}

// resolve turns every source into items, failing on the first missing one
// so that nothing is written for a step that cannot complete.
func (c *copier) resolve(ctx context.Context) ([]item, error) {
	var items []item
	for _, src := range c.req.Sources {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var got []item
		var err error
		if c.req.Parents {
			got, err = c.resolveParents(src)
		} else {
			got, err = c.resolvePath(src, path.Join("/", src))
		}
		if err != nil {
			return nil, err
		}
		items = append(items, got...)
	}
	if c.req.Unpack {
		for i := range items {
			if !items[i].meta.mode.IsRegular() {
				continue
			}
			a, err := detectArchive(items[i].host)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", items[i].src, err)
			}
			items[i].archive = a
		}
	}
	return items, nil
}

// resolvePath resolves p (clean, absolute within SrcRoot), which may hold
// glob characters, as BuildKit's ResolveWildcards does: the part before the
// first component with a wildcard must exist; the rest may match nothing.
func (c *copier) resolvePath(src, p string) ([]item, error) {
	lit, pattern := splitWildcards(p)
	if pattern == "" {
		it, err := c.named(src, p)
		if err != nil {
			return nil, err
		}
		return []item{it}, nil
	}
	dir, err := c.named(src, lit)
	if err != nil {
		return nil, err
	}
	if !dir.meta.mode.IsDir() {
		return nil, nil
	}
	var matches []string
	if err := c.glob(dir.host, dir.relCtx, strings.Split(pattern, "/"), &matches); err != nil {
		return nil, fmt.Errorf("matching %s: %w", src, err)
	}
	var items []item
	for _, rel := range matches {
		it, err := c.named(src, "/"+rel)
		if err != nil {
			return nil, err
		}
		// --exclude filters a glob's file matches too, relative to the
		// glob's directory, so `COPY --exclude=*.md doc* /d/` leaves doc.md
		// out as the Dockerfile reference shows. A matched directory is
		// copied, its contents filtered, as BuildKit does.
		if c.exclude != nil && !it.meta.mode.IsDir() {
			relGlob := strings.TrimPrefix(strings.TrimPrefix(rel, dir.relCtx), "/")
			ex, err := c.exclude.MatchesOrParentMatches(relGlob)
			if err != nil {
				return nil, fmt.Errorf("matching --exclude patterns: %w", err)
			}
			if ex {
				continue
			}
		}
		items = append(items, it)
	}
	return items, nil
}

// resolveParents resolves a --parents source: the copy root is the part
// before a "/./" pivot (or SrcRoot), and the rest is an include pattern
// whose directories are recreated under the destination.
func (c *copier) resolveParents(src string) ([]item, error) {
	parent, pattern, pivot := strings.Cut(src, "/./")
	if !pivot {
		parent, pattern = "/", src
	}
	parent = path.Join("/", parent)
	pattern = strings.TrimPrefix(path.Join("/", pattern), "/")
	roots, err := c.resolvePath(src, parent)
	if err != nil {
		return nil, err
	}
	if !containsWildcards(parent) && !containsWildcards(pattern) {
		// A literal path must exist, as BuildKit's RequiredPaths demand.
		if _, err := c.named(src, path.Join(parent, pattern)); err != nil {
			return nil, err
		}
	}
	var inc *patternmatcher.PatternMatcher
	var parts []string
	if pattern != "" {
		if inc, err = patternmatcher.New([]string{pattern}); err != nil {
			return nil, fmt.Errorf("parsing --parents source %q: %w", src, err)
		}
		parts = strings.Split(pattern, "/")
	}
	for i := range roots {
		roots[i].include, roots[i].includeParts = inc, parts
	}
	return roots, nil
}

// named resolves one literal path (symlinks followed inside SrcRoot).
func (c *copier) named(src, p string) (item, error) {
	host, err := securejoin.SecureJoin(c.srcRoot, p)
	if err != nil {
		return item{}, fmt.Errorf("resolving source %q: %w", src, err)
	}
	fi, err := os.Lstat(host)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrInvalid) || isNotDirErr(err) {
		return item{}, fmt.Errorf("source %q: %w", src, ErrNotFound)
	}
	if err != nil {
		return item{}, fmt.Errorf("reading source %q: %w", src, err)
	}
	rel := c.relSrc(host)
	it := item{src: src, host: host, relCtx: rel, base: path.Base(p), meta: metaOf(fi)}
	if c.ignore != nil && rel != "" {
		ignored, info, err := matchChain(c.ignore, rel)
		if err != nil {
			return item{}, fmt.Errorf("matching .dockerignore patterns: %w", err)
		}
		// An ignored directory is still there when a "!" pattern may bring
		// back something below it; the walk then copies only that.
		if ignored && !(fi.IsDir() && c.ignore.Exclusions()) {
			return item{}, fmt.Errorf("source %q: %w (excluded by .dockerignore)", src, ErrNotFound)
		}
		it.ignore = info
	}
	return it, nil
}

// isNotDirErr: a path through a regular file does not exist either.
func isNotDirErr(err error) bool {
	return errors.Is(err, syscall.ENOTDIR)
}

// relSrc is host relative to SrcRoot in slash form ("" for the root).
func (c *copier) relSrc(host string) string {
	rel, err := filepath.Rel(c.srcRoot, host)
	if err != nil || rel == "." {
		return ""
	}
	return filepath.ToSlash(rel)
}

// glob appends to out the paths (relative to SrcRoot) below dir matching
// comps, one filepath.Match pattern per component. Like BuildKit's walk it
// does not descend through symlinks, and .dockerignore'd entries are
// invisible.
func (c *copier) glob(dirHost, dirRel string, comps []string, out *[]string) error {
	entries, err := os.ReadDir(dirHost)
	if err != nil {
		return err
	}
	last := len(comps) == 1
	for _, e := range entries {
		ok, err := filepath.Match(comps[0], e.Name())
		if err != nil {
			return fmt.Errorf("pattern %q: %w", comps[0], err)
		}
		if !ok {
			continue
		}
		rel := path.Join(dirRel, e.Name())
		if c.ignore != nil {
			ignored, _, err := matchChain(c.ignore, rel)
			if err != nil {
				return err
			}
			if ignored && !(e.IsDir() && c.ignore.Exclusions()) {
				continue
			}
		}
		if last {
			*out = append(*out, rel)
		} else if e.IsDir() {
			if err := c.glob(filepath.Join(dirHost, e.Name()), rel, comps[1:], out); err != nil {
				return err
			}
		}
	}
	return nil
}

// matchChain matches rel and each of its parents in turn, which is how a
// walk from the root sees it (a "!" pattern can re-include below an
// excluded directory). It returns the result for rel and the state to
// match rel's children with.
func matchChain(pm *patternmatcher.PatternMatcher, rel string) (bool, patternmatcher.MatchInfo, error) {
	var info patternmatcher.MatchInfo
	var matched bool
	var err error
	i := 0
	for {
		j := strings.IndexByte(rel[i:], '/')
		prefix := rel
		if j >= 0 {
			prefix = rel[:i+j]
		}
		if matched, info, err = pm.MatchesUsingParentResults(prefix, info); err != nil {
			return false, info, err
		}
		if j < 0 {
			return matched, info, nil
		}
		i += j + 1
	}
}

// containsWildcards reports whether s has an unescaped *, ? or [.
func containsWildcards(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}

// splitWildcards splits a clean absolute path before its first component
// with a wildcard: "/a/b*/c" gives "/a" and "b*/c".
func splitWildcards(p string) (lit, pattern string) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, part := range parts {
		if containsWildcards(part) {
			return "/" + strings.Join(parts[:i], "/"), strings.Join(parts[i:], "/")
		}
	}
	return p, ""
}
