package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/zbuild/zbuild/backend/buildah"
	"github.com/zbuild/zbuild/frontend/dockerfile"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/worker/linux"
	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// Backends, as --backend and ZBUILD_BACKEND name them.
const (
	// BackendAuto is the native engine when this host can run it, else
	// buildah when it is installed.
	BackendAuto = "auto"
	// BackendNative is zbuild's own engine (overlayfs and an OCI runtime).
	BackendNative = "native"
	// BackendBuildah drives the buildah command line.
	BackendBuildah = "buildah"
)

// BackendEnv is the environment variable read when Options.Backend is "".
const BackendEnv = "ZBUILD_BACKEND"

// Backends is what DetectBackends found on this host.
type Backends struct {
	// Native is nil when the native engine can run here; Runtime is then
	// the OCI runtime it uses.
	Native  error
	Runtime string
	// Buildah is buildah's version, or "" with BuildahErr saying why not.
	Buildah    string
	BuildahErr error
}

// DetectBackends checks which backends can run with the store at root
// ("" is the default root).
func DetectBackends(ctx context.Context, root string) Backends {
	var b Backends
	if root == "" {
		root = store.DefaultRoot()
	}
	w, err := linux.New(filepath.Join(root, "worker"), linux.WithCacheRoot(filepath.Join(root, "cache")))
	if err != nil {
		b.Native = err
	} else {
		b.Runtime = w.Runtime()
	}
	b.Buildah, b.BuildahErr = (&buildah.CLI{}).Version(ctx)
	return b
}

// SelectBackend resolves name ("" means $ZBUILD_BACKEND, then auto) to
// BackendNative or BackendBuildah.
func SelectBackend(ctx context.Context, name, root string) (string, error) {
	from := "--backend"
	if name == "" {
		name, from = os.Getenv(BackendEnv), BackendEnv
	}
	switch name {
	case BackendNative, BackendBuildah:
		return name, nil
	case "", BackendAuto:
	default:
		return "", &UsageError{from, name, "unknown backend (want native, buildah or auto)"}
	}
	// Native first, and buildah looked for only when native cannot run:
	// starting buildah just to read its version would cost every build.
	if root == "" {
		root = store.DefaultRoot()
	}
	_, nativeErr := linux.New(filepath.Join(root, "worker"), linux.WithCacheRoot(filepath.Join(root, "cache")))
	if nativeErr == nil {
		return BackendNative, nil
	}
	if _, err := (&buildah.CLI{}).Version(ctx); err != nil {
		return "", fmt.Errorf("no build backend can run here: native: %v (needs root, overlayfs and crun or runc: apt-get install runc); buildah: %w", nativeErr, err)
	}
	return BackendBuildah, nil
}

// runBackend runs the build with buildah when opts select it; ok is false
// when the native engine is to run it.
func runBackend(ctx context.Context, opts Options) (res *Result, ok bool, err error) {
	name, err := SelectBackend(ctx, opts.Backend, opts.Root)
	if err != nil {
		return nil, true, err
	}
	if name != BackendBuildah {
		return nil, false, nil
	}
	res, err = runBuildah(ctx, opts)
	return res, true, err
}

// runBuildah builds opts with buildah, then imports the result into the
// zbuild store and writes its outputs, as the native path does.
func runBuildah(ctx context.Context, opts Options) (*Result, error) {
	if err := checkBuildahOptions(opts); err != nil {
		return nil, err
	}
	sess, err := openSession(ctx, &opts)
	if err != nil {
		return nil, err
	}
	defer sess.close()
	st, events, start := sess.st, sess.events, sess.start
	cli := &buildah.CLI{}
	pull := string(opts.Pull)
	if pull == "" {
		pull = string(PullMissing)
	}
	pr, secrets, ssh, err := planInputs(ctx, opts, &buildahResolver{cli: cli, pull: pull}, events)
	if err != nil {
		return nil, err
	}
	events.Emit(progress.Event{Time: time.Now(), Kind: progress.BuildStarted, Stages: len(pr.Graph.Needed())})
	fail := func(err error) (*Result, error) {
		events.Emit(progress.Event{Time: time.Now(), Kind: progress.BuildDone, Error: err.Error(), Duration: time.Since(start)})
		return nil, err
	}
	br, err := buildah.Build(ctx, cli, pr.Graph, buildah.Options{
		ContextDir: opts.ContextDir,
		Pull:       pull,
		Network:    opts.Network,
		Secrets:    secrets,
		SSH:        ssh,
		Jobs:       opts.Jobs,
		Labels:     opts.Labels,
		Tags:       opts.Tags,
		Progress:   events,
	})
	if err != nil {
		return fail(err)
	}
	defer br.Close()
	// Store the image first, then serve it from the store: the exported
	// copy goes away with br.
	digest, err := st.PutImage(ctx, br.Image)
	if err != nil {
		return fail(fmt.Errorf("importing the buildah image: %w", err))
	}
	img, _, err := st.Image(ctx, digest.String())
	if err != nil {
		return fail(fmt.Errorf("importing the buildah image: %w", err))
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return fail(err)
	}
	out := &Result{ConfigDigest: cfg.String(), Image: img, Steps: br.Steps, Layers: br.Layers}
	if err := writeOutputs(ctx, st, img, opts, out); err != nil {
		return fail(err)
	}
	return finish(opts, out, start, events)
}

// checkBuildahOptions rejects the options the buildah backend cannot honour.
func checkBuildahOptions(opts Options) error {
	const why = "not supported by the buildah backend (use --backend native)"
	switch {
	case opts.SourceDateEpoch != nil:
		return &UsageError{"--source-date-epoch", opts.SourceDateEpoch.String(), why}
	case len(opts.CacheFrom) > 0:
		return &UsageError{"--cache-from", opts.CacheFrom[0].Ref + opts.CacheFrom[0].Dir, why}
	case len(opts.CacheTo) > 0:
		return &UsageError{"--cache-to", opts.CacheTo[0].Ref + opts.CacheTo[0].Dir, why}
	case len(opts.Platforms) > 1:
		return &UsageError{"--platform", fmt.Sprint(opts.Platforms), "several platforms at once are " + why}
	}
	return nil
}

// buildahResolver gives the front-end base image configs from buildah's
// storage, pulling there (not into the zbuild store) what is missing.
type buildahResolver struct {
	cli  *buildah.CLI
	pull string
}

func (r *buildahResolver) ResolveImageConfig(ctx context.Context, ref string, platform plan.Platform) (dockerfile.ImageConfig, error) {
	c, err := r.cli.ResolveImageConfig(ctx, ref, platform, r.pull)
	if err != nil {
		return dockerfile.ImageConfig{}, err
	}
	return dockerfile.ImageConfig{Env: c.Env, WorkingDir: c.WorkingDir, Shell: c.Shell, User: c.User, OnBuild: c.OnBuild, OS: c.OS}, nil
}
