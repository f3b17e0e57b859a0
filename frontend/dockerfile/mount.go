package dockerfile

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/util/system"

	"github.com/zbuild/zbuild/plan"
)

// mounts converts RUN --mount entries (already expanded with the stage's
// variables) with BuildKit's defaults made explicit: cache IDs, secret
// targets, absolute targets.
func (c *converter) mounts(s *stage, st *state, cmd *instructions.RunCommand) ([]plan.Mount, error) {
	var out []plan.Mount
	for _, m := range instructions.GetMounts(cmd) {
		pm, err := c.mount(s, st, m)
		if err != nil {
			return nil, c.errorAt(cmd.Location(), err, "--mount")
		}
		out = append(out, pm)
	}
	return out, nil
}

func (c *converter) mount(s *stage, st *state, m *instructions.Mount) (plan.Mount, error) {
	pm := plan.Mount{
		Type:     plan.MountType(m.Type),
		ReadOnly: m.ReadOnly,
		Mode:     u32(m.Mode),
		UID:      u32(m.UID),
		GID:      u32(m.GID),
	}
	switch m.Type {
	case instructions.MountTypeSecret:
		return secretMount(st, m, pm)
	case instructions.MountTypeSSH:
		return sshMount(m, pm)
	}

	if m.From != "" {
		from, err := c.mountFrom(s, m)
		if err != nil {
			return pm, err
		}
		pm.From = from
	}
	target := m.Target
	if !system.IsAbs(target, st.os) {
		target = path.Join("/", st.unixWorkdir(), target)
	}
	if target == "/" {
		return pm, fmt.Errorf("invalid mount target %q", target)
	}
	pm.Target = target
	if src := path.Join("/", m.Source); src != "/" {
		pm.Source = src
	}
	switch m.Type {
	case instructions.MountTypeCache:
		pm.ID = m.CacheID
		if pm.ID == "" {
			// BuildKit names a cache after the target as written.
			pm.ID = path.Clean(m.Target)
		}
		if m.CacheSharing != instructions.MountSharingShared {
			pm.Sharing = string(m.CacheSharing)
		}
	case instructions.MountTypeTmpfs:
		pm.Size = m.SizeLimit
	}
	return pm, nil
}

// mountFrom resolves a bind or cache mount's from=: a stage name (any
// case) or an image. A stage must come before the one that mounts it.
func (c *converter) mountFrom(s *stage, m *instructions.Mount) (plan.From, error) {
	if i, ok, _ := c.stageRef(m.From, false); ok {
		if i >= s.index {
			return plan.From{}, fmt.Errorf("cannot mount from stage %q to %q, stage needs to be defined before current command", m.From, m.Target)
		}
		return plan.From{Kind: plan.FromStage, Stage: i}, nil
	}
	if m.From == scratchName {
		if m.Type == instructions.MountTypeCache {
			return plan.From{}, nil // an empty cache is the default
		}
		return plan.From{}, unsupported("a bind mount from scratch (an empty directory) is not supported by zbuild")
	}
	if _, err := reference.ParseNormalizedNamed(m.From); err != nil {
		return plan.From{}, fmt.Errorf("invalid image reference %q in mount from: %w", m.From, err)
	}
	return plan.From{Kind: plan.FromImage, Ref: m.From}, nil
}

// secretMount: the ID is source, else id, else the target's base name; the
// file goes to /run/secrets/<id> unless a target or env is given.
func secretMount(st *state, m *instructions.Mount, pm plan.Mount) (plan.Mount, error) {
	windows := st.os == "windows"
	target := m.Target
	if windows {
		target = system.ToSlash(target, "windows")
	}
	id := m.CacheID
	if m.Source != "" {
		id = m.Source
	}
	if id == "" {
		if target == "" {
			return pm, errors.New("one of source, target required")
		}
		id = path.Base(target)
	}
	if windows && target != "" && !system.IsAbs(target, "windows") {
		return pm, fmt.Errorf("secret target %q must be an absolute path with forward slashes on Windows, e.g. --mount=type=secret,id=%s,target=C:/path/to/secret", target, id)
	}
	if m.Env != nil {
		pm.Env = *m.Env
	} else if target == "" {
		if windows {
			return pm, fmt.Errorf("secret target is required on Windows, e.g. --mount=type=secret,id=%s,target=C:/path/to/secret", id)
		}
		target = "/run/secrets/" + path.Base(id)
	}
	pm.ID, pm.Target, pm.Required = id, target, m.Required
	return pm, nil
}

// sshMount: the agent ID defaults to "default"; an empty target means
// BuildKit's default socket path, chosen by the engine.
func sshMount(m *instructions.Mount, pm plan.Mount) (plan.Mount, error) {
	if m.Source != "" {
		return pm, errors.New("ssh does not support source")
	}
	pm.ID = m.CacheID
	if pm.ID == "" {
		pm.ID = "default"
	}
	pm.Target, pm.Required = m.Target, m.Required
	return pm, nil
}

func u32(v *uint64) *uint32 {
	if v == nil {
		return nil
	}
	// BuildKit parses mode, uid and gid with a 32-bit limit.
	n := uint32(*v)
	return &n
}

// quoted finds 'x' or "x" in a message, to point at the offending option;
// notAllowed finds the option in "uid not allowed for "bind" type mounts".
var (
	quoted     = regexp.MustCompile(`['"]([^'"]+)['"]`)
	notAllowed = regexp.MustCompile(`^(\w+) not allowed for`)
)

// mountNeedles are texts to look for in a RUN line to point an error from
// --mount parsing at its column.
func mountNeedles(err error) []string {
	var out []string
	if m := notAllowed.FindStringSubmatch(err.Error()); m != nil {
		return []string{m[1] + "=", "--mount"}
	}
	for _, m := range quoted.FindAllStringSubmatch(err.Error(), -1) {
		// Very short quotes ("/") would match anywhere in the line.
		if len(m[1]) >= 3 {
			out = append(out, m[1])
		}
	}
	// The longest quote ("foo=bar" over "foo") is the least ambiguous.
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return append(out, "--mount")
}
