package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// GitRef is a parsed git source of ADD, as BuildKit reads them:
// "https://host/repo.git#ref:subdir", "git@host:repo.git#ref",
// "ssh://…", "git://…", and the query form "…?ref=v1&subdir=docs".
type GitRef struct {
	// Remote is what git clones: the URL without fragment and query.
	Remote string
	// Ref is a branch, tag (refs/tags/… for ?tag=), commit, or "" for the
	// remote's HEAD.
	Ref string
	// Subdir is the directory of the repository to use ("" for all).
	Subdir string
	// Checksum is a commit the checkout must be (?checksum= or ?commit=).
	Checksum string
	// KeepGitDir and Submodules are the ?keep-git-dir= and ?submodules=
	// settings; nil means the default (drop .git, fetch submodules).
	KeepGitDir *bool
	Submodules *bool
}

var (
	schemeRE = regexp.MustCompile(`^[a-zA-Z0-9]+://`)
	scpRE    = regexp.MustCompile(`^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*?)(?:\?(.*?))?(?:#(.*))?$`)
)

// IsGit reports whether ADD treats s as a git repository: a git://,
// ssh:// or scp-like (user@host:path) address, or an http(s) URL whose
// path ends in ".git". "github.com/x/y" without a scheme is a local path
// for ADD, as in BuildKit.
func IsGit(s string) bool {
	if strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") {
		return false
	}
	if m := schemeRE.FindString(s); m != "" {
		u, err := url.Parse(s)
		if err != nil {
			return false
		}
		switch strings.ToLower(u.Scheme) {
		case "git", "ssh":
			return true
		case "http", "https":
			return strings.HasSuffix(u.Path, ".git")
		}
		return false
	}
	return scpRE.MatchString(s)
}

// ParseGit parses a git source; it fails for what IsGit rejects and for a
// malformed query.
func ParseGit(s string) (*GitRef, error) {
	if !IsGit(s) {
		return nil, fmt.Errorf("%q is not a git repository address", redact(s))
	}
	ref := &GitRef{}
	var fragment string
	var query url.Values
	if schemeRE.MatchString(s) {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("parsing git address: %w", err)
		}
		fragment, query = u.Fragment, u.Query()
		u.Fragment, u.RawFragment, u.RawQuery = "", "", ""
		ref.Remote = u.String()
	} else {
		m := scpRE.FindStringSubmatch(s)
		ref.Remote = m[1] + "@" + m[2] + ":" + m[3]
		fragment = m[5]
		var err error
		if query, err = url.ParseQuery(m[4]); err != nil {
			return nil, fmt.Errorf("parsing git address query: %w", err)
		}
	}
	if fragment != "" {
		r, sub, _ := strings.Cut(fragment, ":")
		ref.Ref, ref.Subdir = r, cleanSubdir(sub)
	}
	if err := ref.loadQuery(query); err != nil {
		return nil, fmt.Errorf("parsing git address %s: %w", redact(s), err)
	}
	return ref, nil
}

func cleanSubdir(s string) string {
	return strings.TrimPrefix(path.Join("/", s), "/")
}

// loadQuery applies the query form, rejecting conflicts with the fragment.
func (r *GitRef) loadQuery(q url.Values) error {
	var tag, branch string
	for k, v := range q {
		if len(v) > 1 {
			return fmt.Errorf("query %q has several values", k)
		}
		val := v[0]
		switch k {
		case "ref", "subdir":
			cur := &r.Ref
			if k == "subdir" {
				cur, val = &r.Subdir, cleanSubdir(val)
			}
			if *cur != "" && *cur != val {
				return fmt.Errorf("%s conflicts: %q and %q", k, *cur, val)
			}
			*cur = val
		case "tag":
			tag = val
		case "branch":
			branch = val
		case "checksum", "commit":
			r.Checksum = val
		case "keep-git-dir", "submodules":
			b := true
			if val != "" {
				var err error
				if b, err = strconv.ParseBool(val); err != nil {
					return fmt.Errorf("invalid %s value %q", k, val)
				}
			}
			if k == "keep-git-dir" {
				r.KeepGitDir = &b
			} else {
				r.Submodules = &b
			}
		default:
			return fmt.Errorf("unsupported query %q", k)
		}
	}
	if tag != "" && branch != "" {
		return errors.New("branch conflicts with tag")
	}
	for _, x := range []struct{ name, prefix string }{{tag, "refs/tags/"}, {branch, "refs/heads/"}} {
		if x.name == "" {
			continue
		}
		full := x.name
		if !strings.HasPrefix(full, x.prefix) {
			full = x.prefix + full
		}
		if r.Ref != "" && r.Ref != full {
			return fmt.Errorf("ref conflicts: %q and %q", r.Ref, full)
		}
		r.Ref = full
	}
	return nil
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// Git checks out the repository at gitURL (see ParseGit) into dstDir,
// which must not exist yet: only the ref's tree (or its Subdir), fetched
// shallowly when the server allows, with submodules, and without .git
// unless keepGitDir (or ?keep-git-dir=true) asks for it. It runs the
// host's git.
func Git(ctx context.Context, gitURL string, keepGitDir bool, dstDir string) error {
	ref, err := ParseGit(gitURL)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dstDir); err == nil {
		return fmt.Errorf("git checkout destination %s already exists", dstDir)
	}
	keep := keepGitDir || (ref.KeepGitDir != nil && *ref.KeepGitDir)
	// A sibling work dir, so the result can be renamed into place whole
	// (or just its Subdir).
	work, err := os.MkdirTemp(filepath.Dir(dstDir), ".git-checkout-*")
	if err != nil {
		return fmt.Errorf("cloning %s: %w", redact(ref.Remote), err)
	}
	defer os.RemoveAll(work)
	g := &gitRunner{dir: work, remote: ref.Remote}
	if err := g.checkout(ctx, ref); err != nil {
		return err
	}
	if ref.Checksum != "" {
		head, err := g.run(ctx, "rev-parse", "HEAD")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(strings.TrimSpace(head), strings.ToLower(ref.Checksum)) {
			return fmt.Errorf("git checksum mismatch for %s: got %s, want %s", redact(ref.Remote), strings.TrimSpace(head), ref.Checksum)
		}
	}
	if ref.Submodules == nil || *ref.Submodules {
		if _, err := os.Lstat(filepath.Join(work, ".gitmodules")); err == nil {
			if _, err := g.run(ctx, "submodule", "update", "--init", "--recursive", "--depth=1"); err != nil {
				if _, err := g.run(ctx, "submodule", "update", "--init", "--recursive"); err != nil {
					return err
				}
			}
		}
	}
	if !keep {
		if err := removeGitDirs(work); err != nil {
			return err
		}
	}
	src := work
	if ref.Subdir != "" {
		if src, err = securejoin.SecureJoin(work, ref.Subdir); err != nil {
			return fmt.Errorf("resolving subdir %q of %s: %w", ref.Subdir, redact(ref.Remote), err)
		}
		if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
			return fmt.Errorf("subdir %q of %s: not a directory in the checkout", ref.Subdir, redact(ref.Remote))
		}
	}
	if err := os.Rename(src, dstDir); err != nil {
		return fmt.Errorf("placing the checkout of %s: %w", redact(ref.Remote), err)
	}
	return nil
}

// gitRunner runs git in one work tree.
type gitRunner struct {
	dir    string
	remote string
}

// checkout fetches ref into the work tree and checks it out, trying a
// shallow fetch first. Dumb HTTP servers and some servers' refusal to serve
// unadvertised commits make the fall-backs necessary.
func (g *gitRunner) checkout(ctx context.Context, ref *GitRef) error {
	if _, err := g.run(ctx, "init", "-q", "."); err != nil {
		return err
	}
	if _, err := g.run(ctx, "remote", "add", "origin", g.remote); err != nil {
		return err
	}
	want := ref.Ref
	if want == "" {
		want = "HEAD"
	}
	_, err := g.run(ctx, "fetch", "-q", "--depth=1", "--no-tags", "origin", want)
	if err != nil {
		_, err = g.run(ctx, "fetch", "-q", "--no-tags", "origin", want)
	}
	target := "FETCH_HEAD"
	if err != nil && commitRE.MatchString(ref.Ref) {
		// A (short) commit id: fetch everything and look it up.
		if _, ferr := g.run(ctx, "fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*"); ferr != nil {
			return ferr
		}
		target, err = ref.Ref, nil
	}
	if err != nil {
		return err
	}
	_, err = g.run(ctx, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", target)
	return err
}

// run runs git with args in the work tree and returns its output. Prompts
// are disabled: a build must fail, not wait for a password.
func (g *gitRunner) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/true", "SSH_ASKPASS=/bin/true", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		msg = strings.ReplaceAll(msg, g.remote, redact(g.remote))
		return "", fmt.Errorf("git %s (%s): %w: %s", args[0], redact(g.remote), err, msg)
	}
	return stdout.String(), nil
}

// removeGitDirs deletes .git (a directory at the top, files in submodules).
// git never tracks a path named .git, so nothing of the checkout is lost.
func removeGitDirs(root string) error {
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" && p != root {
			found = append(found, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("removing .git: %w", err)
	}
	for _, p := range found {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("removing .git: %w", err)
		}
	}
	return nil
}
