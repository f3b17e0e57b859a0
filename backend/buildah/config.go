package buildah

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/zbuild/zbuild/internal/userdb"
	"github.com/zbuild/zbuild/plan"
)

// config applies a metadata step with a single `buildah config` call, and
// creates a new WORKDIR as the native engine does (owned by USER).
func (b *build) config(ctx context.Context, st *stage, c *plan.Config) error {
	// buildah run mounts a fresh volume over every declared VOLUME, which
	// hides and drops what later steps write there; BuildKit keeps it. The
	// volumes are declared when the stage ends instead (finish).
	st.volumes = append(st.volumes, c.Volumes...)
	args, err := configArgs(c)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		if _, err := b.cli.Output(ctx, append(append([]string{"config"}, args...), st.container)...); err != nil {
			return err
		}
		st.dirty = true
	}
	for _, kv := range c.Env {
		st.env[kv.Key] = true
	}
	if c.User != nil {
		st.user = *c.User
	}
	if c.Workdir != nil {
		st.workdir = *c.Workdir
		if err := b.mkWorkdir(ctx, st, *c.Workdir); err != nil {
			return fmt.Errorf("creating WORKDIR %s: %w", *c.Workdir, err)
		}
	}
	return nil
}

// configArgs turns a Config step into `buildah config` flags, but for
// Volumes, which config defers to the end of the stage.
func configArgs(c *plan.Config) ([]string, error) {
	var args []string
	for _, kv := range c.Env {
		// buildah config expands $NAME in values; the front-end already
		// did, and "$$" is how buildah keeps a literal "$".
		args = append(args, "--env", kv.Key+"="+strings.ReplaceAll(kv.Value, "$", "$$"))
	}
	for _, kv := range c.Labels {
		args = append(args, "--label", kv.Key+"="+kv.Value)
	}
	for _, p := range c.ExposedPorts {
		args = append(args, "--port", p)
	}
	if c.User != nil {
		args = append(args, "--user", *c.User)
	}
	if c.Workdir != nil {
		args = append(args, "--workingdir", *c.Workdir)
	}
	if c.Shell != nil {
		// buildah splits --shell on spaces; an argument with a space in it
		// cannot be expressed.
		for _, a := range c.Shell {
			if strings.ContainsAny(a, " \t\n") {
				return nil, &UnsupportedError{Feature: fmt.Sprintf("SHELL argument with white space (%q)", a)}
			}
		}
		args = append(args, "--shell", strings.Join(c.Shell, " "))
	}
	if c.Cmd != nil {
		args = append(args, "--cmd", jsonList(*c.Cmd))
	}
	if c.Entrypoint != nil {
		args = append(args, "--entrypoint", jsonList(*c.Entrypoint))
	}
	if h := c.Healthcheck; h != nil {
		hc, err := healthcheckArgs(h)
		if err != nil {
			return nil, err
		}
		args = append(args, hc...)
	}
	if c.StopSignal != "" {
		args = append(args, "--stop-signal", c.StopSignal)
	}
	for _, o := range c.OnBuild {
		args = append(args, "--onbuild", o)
	}
	if c.Maintainer != "" {
		args = append(args, "--author", c.Maintainer)
	}
	return args, nil
}

// jsonList renders an exec-form list as buildah config expects it; an
// empty list clears the value.
func jsonList(l []string) string {
	if len(l) == 0 {
		return ""
	}
	data, _ := json.Marshal(l) // a []string always marshals
	return string(data)
}

// shellQuote quotes s as one POSIX shell word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func healthcheckArgs(h *plan.Healthcheck) ([]string, error) {
	if h.StartInterval != 0 {
		return nil, &UnsupportedError{Feature: "HEALTHCHECK --start-interval"}
	}
	if len(h.Test) == 0 {
		return nil, fmt.Errorf("HEALTHCHECK without a test")
	}
	switch h.Test[0] {
	case "NONE", "CMD", "CMD-SHELL":
	default:
		return nil, fmt.Errorf("unknown HEALTHCHECK test type %q", h.Test[0])
	}
	// buildah splits the value into words, shell-like, and takes them as
	// the test list: quote each element so it stays one word.
	words := []string{h.Test[0]}
	for _, a := range h.Test[1:] {
		words = append(words, shellQuote(a))
	}
	test := strings.Join(words, " ")
	args := []string{"--healthcheck", test}
	// buildah fills unset durations with its own defaults (30s) and keeps
	// an inherited check's retries; Docker stores 0 for "the default".
	// Every value is therefore given, zero included.
	args = append(args,
		"--healthcheck-interval", time.Duration(h.Interval).String(),
		"--healthcheck-timeout", time.Duration(h.Timeout).String(),
		"--healthcheck-start-period", time.Duration(h.StartPeriod).String(),
		"--healthcheck-retries", strconv.Itoa(h.Retries))
	return args, nil
}

// mkWorkdir creates dir in the container's root file system when it is
// missing, owned by the stage's USER like Docker does.
func (b *build) mkWorkdir(ctx context.Context, st *stage, dir string) error {
	root, err := b.mount(ctx, st.container)
	if err != nil {
		return err
	}
	p, err := securejoin.SecureJoin(root, dir)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(p); err == nil {
		return nil
	}
	id, err := userdb.Resolve(root, st.user)
	if err != nil {
		return err
	}
	// Create each missing level so that all of them get the owner.
	var missing []string
	for q := p; q != root; q = parentDir(q) {
		if _, err := os.Lstat(q); err == nil {
			break
		}
		missing = append(missing, q)
	}
	sort.Strings(missing)
	for _, m := range missing {
		if err := os.Mkdir(m, 0o755); err != nil {
			return err
		}
		if err := os.Chown(m, int(id.UID), int(id.GID)); err != nil {
			return err
		}
	}
	st.dirty = true
	return nil
}

// mount mounts the container on the host (once) and returns its root.
func (b *build) mount(ctx context.Context, container string) (string, error) {
	out, err := b.cli.Output(ctx, "mount", container)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.mounted = append(b.mounted, container)
	b.mu.Unlock()
	return lastLine(out), nil
}

func parentDir(p string) string {
	i := strings.LastIndexByte(strings.TrimSuffix(p, "/"), '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
