package buildah

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/zbuild/zbuild/internal/userdb"
	"github.com/zbuild/zbuild/plan"
)

// prepareDest applies two Docker rules buildah does not: several sources
// need a directory destination, and a destination directory that COPY
// creates gets --chmod's mode and --chown's owner (BuildKit creates it with
// them; buildah with 0755 root).
func (b *build) prepareDest(ctx context.Context, st *stage, t *plan.Transfer, dest string) error {
	many := len(t.Sources)+len(t.Inline) > 1 || hasMeta(strings.Join(t.Sources, ""))
	slash := strings.HasSuffix(dest, "/")
	if (!many || slash) && t.Chmod == "" {
		return nil
	}
	root, err := b.mount(ctx, st.container)
	if err != nil {
		return err
	}
	target, err := securejoin.SecureJoin(root, dest)
	if err != nil {
		return err
	}
	if len(t.Sources)+len(t.Inline) > 1 && !slash {
		if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
			return fmt.Errorf("with more than one source, the destination must be a directory and end with a /: %s", dest)
		}
	}
	if t.Chmod == "" || !slash {
		return nil
	}
	mode, err := strconv.ParseUint(t.Chmod, 8, 32)
	if err != nil {
		return fmt.Errorf("--chmod=%s: %w", t.Chmod, err)
	}
	id, err := userdb.Resolve(root, t.Chown)
	if err != nil {
		return err
	}
	var missing []string
	for q := target; q != root; q = filepath.Dir(q) {
		if _, err := os.Lstat(q); err == nil {
			break
		}
		missing = append(missing, q)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], os.FileMode(mode)); err != nil {
			return err
		}
		if err := os.Chmod(missing[i], os.FileMode(mode)); err != nil {
			return err
		}
		if err := os.Lchown(missing[i], int(id.UID), int(id.GID)); err != nil {
			return err
		}
	}
	return nil
}

// keepOwners gives files copied from another stage or image their source
// owners, as BuildKit does; `buildah copy --from` makes them root's.
func (b *build) keepOwners(ctx context.Context, st *stage, from string, srcs []string, dest string) error {
	ctr := b.containerName(-1)
	b.track(&b.containers, ctr)
	if _, err := b.cli.Output(ctx, "from", "--quiet", "--pull=missing", "--name", ctr, from); err != nil {
		return err
	}
	srcRoot, err := b.mount(ctx, ctr)
	if err != nil {
		return err
	}
	dstRoot, err := b.mount(ctx, st.container)
	if err != nil {
		return err
	}
	for _, pattern := range srcs {
		matches, err := filepath.Glob(filepath.Join(srcRoot, filepath.FromSlash(pattern)))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := chownLike(srcRoot, m, dstRoot, dest, len(matches) > 1 || len(srcs) > 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// chownLike sets the owners under dest from the source match m (a file,
// or a directory whose contents were copied into dest).
func chownLike(srcRoot, m, dstRoot, dest string, many bool) error {
	// The source path itself is followed, as COPY follows it.
	real, err := securejoin.SecureJoin(srcRoot, strings.TrimPrefix(m, srcRoot))
	if err != nil {
		return err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		to := dest
		if strings.HasSuffix(dest, "/") || many {
			to = path.Join(dest, filepath.Base(m))
		} else if dfi, err := statIn(dstRoot, dest); err == nil && dfi.IsDir() {
			to = path.Join(dest, filepath.Base(m))
		}
		return chownFrom(real, dstRoot, to)
	}
	return filepath.Walk(real, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == real {
			return err
		}
		rel, err := filepath.Rel(real, p)
		if err != nil {
			return err
		}
		return chownFrom(p, dstRoot, path.Join(dest, filepath.ToSlash(rel)))
	})
}

func statIn(root, p string) (os.FileInfo, error) {
	full, err := securejoin.SecureJoin(root, p)
	if err != nil {
		return nil, err
	}
	return os.Stat(full)
}

// chownFrom gives dstRoot/to the owner of src, without following links.
func chownFrom(src, dstRoot, to string) error {
	uid, gid, err := owner(src)
	if err != nil {
		return err
	}
	parent, err := securejoin.SecureJoin(dstRoot, path.Dir(to))
	if err != nil {
		return err
	}
	return os.Lchown(filepath.Join(parent, path.Base(to)), uid, gid)
}
