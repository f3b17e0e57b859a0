package buildah

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// stage is the state of one stage's working container. Env and User
// mirror the container's config, so RUN can tell which build args ENV
// overrides and WORKDIR can give new directories to USER.
type stage struct {
	container string
	env       map[string]bool
	user      string
	workdir   string
	// volumes are the stage's VOLUMEs, declared when it ends.
	volumes []string
	// dirty says the container changed since its last commit, image is
	// that commit.
	dirty bool
	image string
}

// runStage creates the stage's container from its base, applies every
// step with a commit after each that changes files, and returns the
// stage's final image ID.
func (b *build) runStage(ctx context.Context, i int) (string, error) {
	ps := &b.g.Stages[i]
	st := &stage{}
	// The same stage events as the native engine.
	stageEv := progress.Event{Stage: i, StageName: ps.Name, Steps: len(ps.Steps), Text: "FROM " + baseText(b.g, ps.Base), Pos: ps.Pos}
	b.emit(stageEv, progress.StageStarted)
	stageStart := time.Now()
	if err := b.from(ctx, ps, st); err != nil {
		return "", &StepError{Stage: i, Step: plan.Step{Text: "FROM " + baseText(b.g, ps.Base), Pos: ps.Pos}, Err: err}
	}
	for j := range ps.Steps {
		step := &ps.Steps[j]
		ev := progress.Event{ID: int(b.ids.Add(1)), Stage: i, StageName: ps.Name, Step: j + 1, Steps: len(ps.Steps), Text: step.Text, Pos: step.Pos}
		b.emit(ev, progress.StepStarted)
		start := time.Now()
		err := b.runStep(ctx, st, step, ev)
		if err == nil && step.Config == nil {
			err = b.commit(ctx, st)
		}
		if err != nil {
			ev.Error = err.Error()
			b.emit(ev, progress.StepFailed)
			return "", &StepError{Stage: i, Step: *step, Err: err}
		}
		b.steps.Add(1)
		if step.Config == nil {
			b.layers.Add(1)
		}
		ev.Duration = time.Since(start)
		b.emit(ev, progress.StepDone)
	}
	var final []string
	for _, v := range st.volumes {
		final = append(final, "--volume", v)
	}
	if i == b.g.Target {
		for _, k := range sortedKeys(b.opts.Labels) {
			final = append(final, "--label", k+"="+b.opts.Labels[k])
		}
	}
	if len(final) > 0 {
		if _, err := b.cli.Output(ctx, append(append([]string{"config"}, final...), st.container)...); err != nil {
			return "", fmt.Errorf("finishing stage %d: %w", i, err)
		}
		st.dirty = true
	}
	if st.dirty || st.image == "" {
		if err := b.commit(ctx, st); err != nil {
			return "", fmt.Errorf("committing stage %d: %w", i, err)
		}
	}
	// The last commit is the stage's result, not an intermediate.
	b.mu.Lock()
	if k := slices.Index(b.intermediates, st.image); k >= 0 {
		b.intermediates = slices.Delete(b.intermediates, k, k+1)
	}
	b.mu.Unlock()
	stageEv.Duration = time.Since(stageStart)
	b.emit(stageEv, progress.StageDone)
	return st.image, nil
}

func (b *build) runStep(ctx context.Context, st *stage, step *plan.Step, ev progress.Event) error {
	switch {
	case step.Run != nil:
		return b.run(ctx, st, step.Run, ev)
	case step.Copy != nil:
		return b.copy(ctx, st, "copy", step.Copy.From, &step.Copy.Transfer, nil)
	case step.Add != nil:
		return b.copy(ctx, st, "add", plan.From{}, &step.Add.Transfer, step.Add)
	case step.Config != nil:
		return b.config(ctx, st, step.Config)
	}
	return fmt.Errorf("step %q has no instruction", step.Text)
}

// commit writes the container as a new image. Docker's format keeps what
// OCI configs cannot hold (HEALTHCHECK, ONBUILD, SHELL).
func (b *build) commit(ctx context.Context, st *stage) error {
	id, err := b.cli.Output(ctx, "commit", "--quiet", "--format", "docker", st.container)
	if err != nil {
		return err
	}
	st.image, st.dirty = id, false
	b.track(&b.intermediates, id)
	return nil
}

// from creates the stage's working container and reads its config.
func (b *build) from(ctx context.Context, ps *plan.Stage, st *stage) error {
	name := b.containerName(ps.Index)
	args := []string{"from", "--quiet", "--name", name}
	switch ps.Base.Kind {
	case plan.BaseScratch:
		args = append(args, "scratch")
	case plan.BaseStage:
		id, err := b.stageImage(ctx, ps.Base.Stage)
		if err != nil {
			return err
		}
		args = append(args, "--pull=never", id)
	case plan.BaseImage:
		pull, err := pullFlag(b.opts.Pull)
		if err != nil {
			return err
		}
		args = append(args, "--pull="+pull)
		if ps.Platform.OS != "" {
			args = append(args, "--platform", ps.Platform.String())
		}
		if plainHTTP(ps.Base.Ref) {
			args = append(args, "--tls-verify=false")
		}
		args = append(args, ps.Base.Ref)
	case plan.BaseOCILayout:
		args = append(args, "oci:"+ps.Base.Ref)
	default:
		return &UnsupportedError{Feature: fmt.Sprintf("base kind %q", ps.Base.Kind)}
	}
	b.track(&b.containers, name)
	if _, err := b.cli.Output(ctx, args...); err != nil {
		return err
	}
	st.container = name
	return b.readConfig(ctx, st)
}

// readConfig loads Env, User and WorkingDir of the working container.
func (b *build) readConfig(ctx context.Context, st *stage) error {
	out, err := b.cli.Output(ctx, "inspect", "--type", "container", st.container)
	if err != nil {
		return err
	}
	var info struct {
		OCIv1 struct {
			Config struct {
				Env        []string
				User       string
				WorkingDir string
				Volumes    map[string]struct{}
			} `json:"config"`
		} `json:"OCIv1"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return fmt.Errorf("reading buildah inspect output: %w", err)
	}
	st.env = map[string]bool{}
	for _, kv := range info.OCIv1.Config.Env {
		k, _, _ := strings.Cut(kv, "=")
		st.env[k] = true
	}
	st.user, st.workdir = info.OCIv1.Config.User, info.OCIv1.Config.WorkingDir
	// Inherited VOLUMEs are lifted off the container while the stage runs,
	// like its own (see config), and declared again when it ends.
	if vols := sortedKeys(info.OCIv1.Config.Volumes); len(vols) > 0 {
		args := []string{"config"}
		for _, v := range vols {
			args = append(args, "--volume", v+"-")
		}
		if _, err := b.cli.Output(ctx, append(args, st.container)...); err != nil {
			return err
		}
		st.volumes = vols
	}
	return nil
}

// containerName is unique per build and stage, so a leaked container can
// be traced back to its build.
func (b *build) containerName(stage int) string {
	return fmt.Sprintf("zbuild-%d-%d-%d", time.Now().UnixNano(), stage, b.seq.Add(1))
}

func (b *build) emit(ev progress.Event, kind progress.Kind) {
	ev.Kind, ev.Time = kind, time.Now()
	b.opts.Progress.Emit(ev)
}

// pullFlag maps zbuild's pull policy to buildah's --pull values.
func pullFlag(policy string) (string, error) {
	switch policy {
	case "", "missing":
		return "missing", nil
	case "always", "never":
		return policy, nil
	}
	return "", fmt.Errorf("unknown pull policy %q (want missing, always or never)", policy)
}

// plainHTTP reports whether ref's registry is on the loopback interface,
// which zbuild reaches over plain HTTP as the native engine does.
func plainHTTP(ref string) bool {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return false
	}
	host := reference.Domain(named)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func baseText(g *plan.Graph, base plan.Base) string {
	switch base.Kind {
	case plan.BaseScratch:
		return "scratch"
	case plan.BaseStage:
		if s := g.Stages[base.Stage]; s.Name != "" {
			return s.Name
		}
		return fmt.Sprintf("stage-%d", base.Stage)
	case plan.BaseOCILayout:
		return "oci-layout://" + base.Ref
	}
	return base.Ref
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
