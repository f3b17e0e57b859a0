package buildah

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// run executes a RUN step with `buildah run`, its output as step events.
func (b *build) run(ctx context.Context, st *stage, r *plan.Run, ev progress.Event) error {
	if r.Security == "insecure" {
		return &UnsupportedError{Feature: "RUN --security=insecure"}
	}
	args := []string{"run"}
	if b.cli.Isolation != "" {
		args = append(args, "--isolation", b.cli.Isolation)
	}
	if b.cli.Runtime != "" {
		args = append(args, "--runtime", b.cli.Runtime)
	}
	network := r.Network
	if network == "" || network == "default" {
		network = b.opts.Network
	}
	switch network {
	case "", "default":
	case "none", "host":
		args = append(args, "--network", network)
	default:
		return fmt.Errorf("unknown network mode %q", network)
	}
	// ENV takes precedence over ARG, as in BuildKit.
	for _, kv := range r.BuildArgs {
		if !st.env[kv.Key] {
			args = append(args, "--env", kv.Key+"="+kv.Value)
		}
	}
	step := filepath.Join(b.tmp, "step-"+strconv.FormatInt(b.seq.Add(1), 10))
	if err := os.MkdirAll(step, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(step)
	if len(r.Files) > 0 {
		dir := filepath.Join(step, "files")
		if err := writeInline(dir, r.Files, 0o755); err != nil {
			return err
		}
		args = append(args, "--volume", dir+":"+plan.FilesDir+":ro")
	}
	var targets []string
	for i, m := range r.Mounts {
		margs, err := b.mountArgs(ctx, st, m, filepath.Join(step, "mount-"+strconv.Itoa(i)))
		if err != nil {
			return fmt.Errorf("--mount type=%s,target=%s: %w", m.Type, m.Target, err)
		}
		if len(margs) > 0 {
			targets = append(targets, mountTarget(m, st.workdir))
		}
		args = append(args, margs...)
	}
	if len(targets) > 0 {
		stubs, err := b.mountStubs(ctx, st, targets)
		if err != nil {
			return err
		}
		defer removeStubs(stubs)
	}
	args = append(append(args, "--", st.container), r.Args...)
	return b.cli.Stream(ctx, func(stream, line string) {
		e := ev
		e.Line, e.Stream = line, stream
		b.emit(e, progress.StepOutput)
	}, args...)
}

// mountArgs turns one RUN --mount into buildah run flags. Sources that
// must not be changed (the context, stage images) are copied or mounted
// from a throw-away container first, so a read-write bind mount is
// discarded as in BuildKit.
func (b *build) mountArgs(ctx context.Context, st *stage, m plan.Mount, scratch string) ([]string, error) {
	switch m.Type {
	case plan.MountCache:
		if !m.From.IsZero() {
			return nil, &UnsupportedError{Feature: "cache mounts seeded with from="}
		}
		opts := []string{"type=cache", "target=" + m.Target}
		if m.ID != "" {
			opts = append(opts, "id="+m.ID)
		}
		if m.Sharing != "" {
			opts = append(opts, "sharing="+m.Sharing)
		}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		opts = append(opts, ownerOpts(m)...)
		return []string{"--mount", strings.Join(opts, ",")}, nil
	case plan.MountTmpfs:
		opts := []string{"type=tmpfs", "target=" + m.Target}
		if m.Size > 0 {
			opts = append(opts, "tmpfs-size="+strconv.FormatInt(m.Size, 10))
		}
		return []string{"--mount", strings.Join(opts, ",")}, nil
	case plan.MountBind:
		src, err := b.bindSource(ctx, m, scratch)
		if err != nil {
			return nil, err
		}
		opts := []string{"type=bind", "source=" + src, "target=" + m.Target}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		return []string{"--mount", strings.Join(opts, ",")}, nil
	case plan.MountSecret:
		return b.secretArgs(m, scratch)
	case plan.MountSSH:
		sock, ok := b.opts.SSH[orDefault(m.ID, "default")]
		if !ok {
			if m.Required {
				return nil, fmt.Errorf("no ssh agent for id %q (use --ssh)", orDefault(m.ID, "default"))
			}
			return nil, nil
		}
		target := orDefault(m.Target, "/run/buildkit/ssh_agent.0")
		return []string{"--volume", sock + ":" + target, "--env", "SSH_AUTH_SOCK=" + target}, nil
	}
	return nil, &UnsupportedError{Feature: fmt.Sprintf("mount type %q", m.Type)}
}

// mountTarget is where m appears in the container.
func mountTarget(m plan.Mount, workdir string) string {
	t := m.Target
	switch {
	case t == "" && m.Type == plan.MountSecret:
		t = "/run/secrets/" + m.ID
	case t == "" && m.Type == plan.MountSSH:
		t = "/run/buildkit/ssh_agent.0"
	}
	if !path.IsAbs(t) {
		t = path.Join(orDefault(workdir, "/"), t)
	}
	return t
}

// mountStubs lists the mount targets, and their parents, missing from the
// container: the runtime creates them as mount points. BuildKit removes
// such stubs after the step so that they never reach a layer; so does
// removeStubs.
func (b *build) mountStubs(ctx context.Context, st *stage, targets []string) ([]string, error) {
	root, err := b.mount(ctx, st.container)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var stubs []string
	for _, t := range targets {
		for q := t; q != "/" && !seen[q]; q = path.Dir(q) {
			p, err := securejoin.SecureJoin(root, q)
			if err != nil {
				return nil, err
			}
			if _, err := os.Lstat(p); err == nil {
				break
			}
			seen[q] = true
			stubs = append(stubs, p)
		}
	}
	// Deepest first, so that a parent is empty when its turn comes.
	sort.Sort(sort.Reverse(sort.StringSlice(stubs)))
	return stubs, nil
}

// removeStubs removes the empty mount points a step left behind; a stub
// that has content is not one and stays.
func removeStubs(stubs []string) {
	for _, p := range stubs {
		fi, err := os.Lstat(p)
		if err != nil || (fi.Mode().IsRegular() && fi.Size() > 0) {
			continue
		}
		_ = os.Remove(p) // fails on a non-empty directory, which stays
	}
}

func ownerOpts(m plan.Mount) []string {
	var opts []string
	if m.Mode != nil {
		opts = append(opts, fmt.Sprintf("mode=%o", *m.Mode))
	}
	if m.UID != nil {
		opts = append(opts, fmt.Sprintf("uid=%d", *m.UID))
	}
	if m.GID != nil {
		opts = append(opts, fmt.Sprintf("gid=%d", *m.GID))
	}
	return opts
}

// bindSource returns the host path a bind mount reads.
func (b *build) bindSource(ctx context.Context, m plan.Mount, scratch string) (string, error) {
	var root string
	switch m.From.Kind {
	case plan.FromContext:
		root = b.opts.ContextDir
	case plan.FromStage, plan.FromImage:
		ref := m.From.Ref
		if m.From.Kind == plan.FromStage {
			id, err := b.stageImage(ctx, m.From.Stage)
			if err != nil {
				return "", err
			}
			ref = id
		}
		ctr := b.containerName(-1)
		b.track(&b.containers, ctr)
		if _, err := b.cli.Output(ctx, "from", "--quiet", "--pull=missing", "--name", ctr, ref); err != nil {
			return "", err
		}
		var err error
		if root, err = b.mount(ctx, ctr); err != nil {
			return "", err
		}
		if !m.ReadOnly {
			// Writes land in the throw-away container.
			return securejoin.SecureJoin(root, m.Source)
		}
	default:
		return "", fmt.Errorf("unknown mount source kind %q", m.From.Kind)
	}
	src, err := securejoin.SecureJoin(root, m.Source)
	if err != nil {
		return "", err
	}
	if m.ReadOnly || m.From.Kind != plan.FromContext {
		return src, nil
	}
	// A writable bind of the context must not change the context.
	if out, err := exec.Command("cp", "-a", src, scratch).CombinedOutput(); err != nil {
		return "", fmt.Errorf("copying %s for a writable bind mount: %v: %s", m.Source, err, out)
	}
	return scratch, nil
}

// secretArgs writes the secret to a private file and binds it read-only.
func (b *build) secretArgs(m plan.Mount, scratch string) ([]string, error) {
	data, ok := b.opts.Secrets[m.ID]
	if !ok {
		if m.Required {
			return nil, fmt.Errorf("secret %q is required but was not given (use --secret id=%s,...)", m.ID, m.ID)
		}
		return nil, nil
	}
	if m.Env != "" {
		// buildah run takes environment values on its command line, where
		// any local user could read the secret.
		return nil, &UnsupportedError{Feature: "secrets as environment variables (env=)"}
	}
	mode := os.FileMode(0o400)
	if m.Mode != nil {
		mode = os.FileMode(*m.Mode)
	}
	if err := os.WriteFile(scratch, data, mode); err != nil {
		return nil, err
	}
	if err := os.Chmod(scratch, mode); err != nil {
		return nil, err
	}
	uid, gid := 0, 0
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	if err := os.Chown(scratch, uid, gid); err != nil {
		return nil, err
	}
	target := orDefault(m.Target, "/run/secrets/"+m.ID)
	return []string{"--mount", "type=bind,source=" + scratch + ",target=" + target + ",ro"}, nil
}

// writeInline writes heredoc files into dir with their modes.
func writeInline(dir string, files []plan.InlineFile, defMode os.FileMode) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		mode := defMode
		if f.Mode != 0 {
			mode = os.FileMode(f.Mode)
		}
		p, err := securejoin.SecureJoin(dir, f.Name)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(f.Data), mode); err != nil {
			return err
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
	}
	return nil
}
