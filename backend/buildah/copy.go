package buildah

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/zbuild/zbuild/plan"
)

var octalMode = regexp.MustCompile(`^[0-7]{3,4}$`)

// copy runs a COPY or ADD step with `buildah copy|add`. Context sources are
// confined to the context (--contextdir) and filtered by .dockerignore.
func (b *build) copy(ctx context.Context, st *stage, verb string, from plan.From, t *plan.Transfer, add *plan.Add) error {
	if err := unsupportedTransfer(t, add); err != nil {
		return err
	}
	dest := t.Dest
	if !path.IsAbs(dest) {
		// buildah resolves relative destinations itself too, but the
		// working directory it sees is only the committed one.
		dest = path.Join(orDefault(st.workdir, "/"), dest)
		if strings.HasSuffix(t.Dest, "/") || t.Dest == "." {
			dest += "/"
		}
	}
	flags := []string{verb, "--quiet"}
	if t.Chown != "" {
		flags = append(flags, "--chown", t.Chown)
	}
	if t.Chmod != "" {
		flags = append(flags, "--chmod", t.Chmod)
	}
	if len(t.Sources) > 0 {
		args := append([]string(nil), flags...)
		var srcs []string
		fromRef := ""
		switch from.Kind {
		case plan.FromContext:
			args = append(args, "--contextdir", b.opts.ContextDir)
			if ignore, err := b.ignoreFile(); err != nil {
				return err
			} else if ignore != "" {
				args = append(args, "--ignorefile", ignore)
			}
			for _, s := range t.Sources {
				if isURL(s) {
					srcs = append(srcs, s)
					continue
				}
				p := filepath.Join(b.opts.ContextDir, filepath.FromSlash(s))
				// BuildKit lets a wildcard match nothing; buildah fails.
				if hasMeta(s) {
					if m, _ := filepath.Glob(p); len(m) == 0 {
						continue
					}
				}
				srcs = append(srcs, p)
			}
		case plan.FromStage, plan.FromImage:
			ref := from.Ref
			if from.Kind == plan.FromStage {
				id, err := b.stageImage(ctx, from.Stage)
				if err != nil {
					return err
				}
				ref = id
			}
			args = append(args, "--from", ref)
			srcs, fromRef = t.Sources, ref
		default:
			return fmt.Errorf("unknown source kind %q", from.Kind)
		}
		if len(srcs) > 0 {
			if err := b.prepareDest(ctx, st, t, dest); err != nil {
				return err
			}
			args = append(append(append(args, st.container), srcs...), dest)
			if _, err := b.cli.Output(ctx, args...); err != nil {
				return err
			}
			if from.Kind != plan.FromContext && t.Chown == "" {
				if err := b.keepOwners(ctx, st, fromRef, srcs, dest); err != nil {
					return fmt.Errorf("keeping the owners of copied files: %w", err)
				}
			}
		}
	}
	if len(t.Inline) > 0 {
		dir := filepath.Join(b.tmp, "inline-"+strconv.FormatInt(b.seq.Add(1), 10))
		defer os.RemoveAll(dir)
		if err := writeInline(dir, t.Inline, 0o644); err != nil {
			return err
		}
		for _, f := range t.Inline {
			args := append(append([]string(nil), flags...), st.container, filepath.Join(dir, f.Name), dest)
			if _, err := b.cli.Output(ctx, args...); err != nil {
				return err
			}
		}
	}
	st.dirty = true
	return nil
}

// unsupportedTransfer rejects what `buildah copy|add` 1.28 cannot do.
func unsupportedTransfer(t *plan.Transfer, add *plan.Add) error {
	switch {
	case t.Parents:
		return &UnsupportedError{Feature: "COPY --parents"}
	case len(t.Exclude) > 0:
		return &UnsupportedError{Feature: "COPY --exclude"}
	case t.Chmod != "" && !octalMode.MatchString(t.Chmod):
		return &UnsupportedError{Feature: "symbolic --chmod (" + t.Chmod + ")"}
	}
	if add == nil {
		return nil
	}
	switch {
	case add.Checksum != "":
		return &UnsupportedError{Feature: "ADD --checksum"}
	case add.KeepGitDir:
		return &UnsupportedError{Feature: "ADD --keep-git-dir"}
	case add.Unpack != nil:
		return &UnsupportedError{Feature: "ADD --unpack"}
	}
	for _, s := range t.Sources {
		if isGit(s) {
			return &UnsupportedError{Feature: "ADD from a git repository"}
		}
	}
	return nil
}

// ignoreFile writes the plan's .dockerignore patterns once per build.
func (b *build) ignoreFile() (string, error) {
	if len(b.g.Context.Exclude) == 0 {
		return "", nil
	}
	p := filepath.Join(b.tmp, "dockerignore")
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if err := os.WriteFile(p, []byte(strings.Join(b.g.Context.Exclude, "\n")+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("writing the ignore file: %w", err)
	}
	return p, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func isGit(s string) bool {
	return strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git://") ||
		(isURL(s) && (strings.HasSuffix(s, ".git") || strings.Contains(s, ".git#")))
}
