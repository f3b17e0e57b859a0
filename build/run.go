package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/frontend/dockerfile"
	"github.com/zbuild/zbuild/internal/engine"
	"github.com/zbuild/zbuild/internal/output"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/progress"
)

// Result is a finished build.
type Result struct {
	// ImageID is the image's manifest digest ("sha256:…"): its ID in the
	// local store, as docker's containerd image store and podman use it.
	ImageID string
	// ConfigDigest is the digest of the image config.
	ConfigDigest string
	// Tags are the names the image got in the local store.
	Tags []string
	// Image is the built image, readable from the local store.
	Image v1.Image
	// Steps is the number of steps run, Cached the steps reused from the
	// cache, Layers the layers the run steps wrote.
	Steps, Cached, Layers int
	Duration              time.Duration
}

// Run builds the image opts describe and writes it to its outputs (by
// default, the local store under opts.Tags).
func Run(ctx context.Context, opts Options) (*Result, error) {
	if res, ok, err := runBackend(ctx, opts); ok {
		return res, err
	}
	if len(opts.Platforms) > 1 {
		return runPlatforms(ctx, opts)
	}
	sess, err := openSession(ctx, &opts)
	if err != nil {
		return nil, err
	}
	defer sess.close()
	st, events, start := sess.st, sess.events, sess.start
	w, err := newWorker(st)
	if err != nil {
		return nil, err
	}
	eng := engine.New(st, w, opts.Registry.internal())
	pull := string(opts.Pull)
	if pull == "" {
		pull = string(PullMissing)
	}
	resolver := eng.Resolver(pull)
	resolver.Events = events
	pr, secrets, ssh, err := planInputs(ctx, opts, resolver, events)
	if err != nil {
		return nil, err
	}
	network := opts.Network
	if network == "" {
		network = "default"
	}
	for _, c := range opts.CacheFrom {
		n, err := importCache(ctx, st, w, c, opts.Registry.internal())
		if err != nil {
			return nil, fmt.Errorf("--cache-from %s%s: %w", c.Ref, c.Dir, err)
		}
		events.Emit(progress.Event{Time: time.Now(), Kind: progress.Info, Line: fmt.Sprintf("imported %d cache record(s) from %s%s", n, c.Ref, c.Dir)})
	}
	events.Emit(progress.Event{Time: time.Now(), Kind: progress.BuildStarted, Stages: len(pr.Graph.Needed())})
	res, err := eng.Build(ctx, engine.Request{
		Graph:           pr.Graph,
		ContextDir:      opts.ContextDir,
		Pull:            pull,
		Network:         network,
		Secrets:         secrets,
		SSH:             ssh,
		Jobs:            opts.Jobs,
		SourceDateEpoch: opts.SourceDateEpoch,
		Compression:     layerCompression(opts.Compression),
		Labels:          opts.Labels,
		Progress:        events,
		NoCache:         opts.NoCache,
		NoCacheFilter:   opts.NoCacheFilter,
		Slot:            pr.Dockerfile + "\x00" + opts.ContextDir + "\x00" + opts.Target,
	})
	if err != nil {
		events.Emit(progress.Event{Time: time.Now(), Kind: progress.BuildDone, Error: err.Error(), Duration: time.Since(start)})
		return nil, err
	}
	out := &Result{ConfigDigest: res.ImageID.String(), Image: res.Image, Steps: res.Steps, Cached: res.Cached, Layers: res.Layers}
	if err := writeOutputs(ctx, st, res.Image, opts, out); err != nil {
		events.Emit(progress.Event{Time: time.Now(), Kind: progress.BuildDone, Error: err.Error(), Duration: time.Since(start)})
		return nil, err
	}
	for _, c := range opts.CacheTo {
		if err := exportCache(ctx, st, w, res, c, opts.Registry.internal()); err != nil {
			return nil, fmt.Errorf("--cache-to %s%s: %w", c.Ref, c.Dir, err)
		}
	}
	return finish(opts, out, start, events)
}

// finish writes --iidfile and --metadata-file and reports the end of a
// successful build, for every build path.
func finish(opts Options, out *Result, start time.Time, events progress.Sink) (*Result, error) {
	if opts.IIDFile != "" {
		if err := os.WriteFile(opts.IIDFile, []byte(out.ImageID), 0o644); err != nil {
			return nil, fmt.Errorf("writing --iidfile: %w", err)
		}
	}
	if opts.MetadataFile != "" {
		if err := writeMetadata(opts.MetadataFile, out); err != nil {
			return nil, err
		}
	}
	out.Duration = time.Since(start)
	events.Emit(progress.Event{Time: time.Now(), Kind: progress.BuildDone, Image: out.ImageID, Duration: out.Duration})
	return out, nil
}

// writeOutputs stores the image (always: its layers are already there) and
// writes every --output.
func writeOutputs(ctx context.Context, st *store.Store, img v1.Image, opts Options, res *Result) error {
	img, err := toFormat(img, opts.Format, opts.Compression)
	if err != nil {
		return err
	}
	if res.Image != img {
		cfg, err := img.ConfigName()
		if err != nil {
			return err
		}
		res.Image, res.ConfigDigest = img, cfg.String()
	}
	tags := append([]string(nil), opts.Tags...)
	for _, o := range opts.Outputs {
		if (o.Type == "image" || o.Type == "registry") && o.Attrs["name"] != "" {
			tags = append(tags, o.Attrs["name"])
		}
		if err := checkPushOutput(o); err != nil {
			return err
		}
	}
	digest, err := st.PutImage(ctx, img, tags...)
	if err != nil {
		return fmt.Errorf("storing the image: %w", err)
	}
	res.ImageID, res.Tags = digest.String(), tags
	ref := ""
	if len(tags) > 0 {
		ref = tags[0]
	}
	for _, o := range opts.Outputs {
		var err error
		switch o.Type {
		case "image", "registry":
			continue
		case "oci":
			if output.IsTarPath(o.Dest) && o.Attrs["tar"] != "false" {
				err = output.ToFile(o.Dest, os.Stdout, func(w io.Writer) error { return output.OCIArchive(ctx, img, w, ref) })
			} else {
				err = output.OCILayoutDir(ctx, img, o.Dest, ref)
			}
		case "docker":
			err = output.ToFile(o.Dest, os.Stdout, func(w io.Writer) error { return output.DockerArchive(ctx, img, w, ref) })
		case "tar":
			err = output.ToFile(o.Dest, os.Stdout, func(w io.Writer) error { return output.RootfsTar(ctx, img, w) })
		case "local":
			err = output.RootfsDir(ctx, img, o.Dest)
		default:
			err = &UsageError{"--output", o.Type, "unknown output type"}
		}
		if err != nil {
			return fmt.Errorf("output type=%s,dest=%s: %w", o.Type, o.Dest, err)
		}
	}
	return pushOutputs(ctx, img, opts, opts.Progress)
}

// readSecrets reads every --secret once, before the build starts, so a
// missing file fails fast and nothing reads it again.
func readSecrets(secrets []Secret) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, s := range secrets {
		if s.Env != "" {
			v, ok := os.LookupEnv(s.Env)
			if !ok {
				return nil, &UsageError{"--secret", "id=" + s.ID, "environment variable " + s.Env + " is not set"}
			}
			out[s.ID] = []byte(v)
			continue
		}
		data, err := os.ReadFile(s.Src)
		if err != nil {
			return nil, &UsageError{"--secret", "id=" + s.ID, err.Error()}
		}
		out[s.ID] = data
	}
	return out, nil
}

// sshSockets maps --ssh ids to agent sockets. Forwarding raw key files needs
// an in-process agent, which zbuild does not have yet.
func sshSockets(list []SSH) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range list {
		paths := s.Paths
		if len(paths) == 0 {
			sock := os.Getenv("SSH_AUTH_SOCK")
			if sock == "" {
				return nil, &UsageError{"--ssh", s.ID, "SSH_AUTH_SOCK is not set: start an ssh agent or give ID=SOCKET"}
			}
			paths = []string{sock}
		}
		if len(paths) != 1 {
			return nil, &UsageError{"--ssh", s.ID, "only one agent socket per id is supported"}
		}
		fi, err := os.Stat(paths[0])
		if err != nil {
			return nil, &UsageError{"--ssh", s.ID, err.Error()}
		}
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, &UsageError{"--ssh", s.ID, paths[0] + " is not an agent socket (key files are not supported yet: load them into ssh-agent)"}
		}
		out[s.ID] = paths[0]
	}
	return out, nil
}

// writeMetadata writes --metadata-file with the keys buildx uses.
func writeMetadata(path string, res *Result) error {
	md := map[string]any{
		"containerimage.digest":        res.ImageID,
		"containerimage.config.digest": res.ConfigDigest,
	}
	if len(res.Tags) > 0 {
		md["image.name"] = strings.Join(res.Tags, ",")
	}
	data, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing --metadata-file: %w", err)
	}
	return nil
}

// enforceCap prunes the least recently used cache until the store fits in
// max bytes. It runs after the build and never fails it.
func enforceCap(st *store.Store, max int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := st.Prune(ctx, store.PruneOptions{KeepStorage: max})
	if err != nil {
		slog.Warn("enforcing --max-storage", "err", err)
		return
	}
	if res.Exceeded {
		slog.Warn("the store exceeds --max-storage even without build cache; remove images with zbuild rmi", "size", res.Remains, "max", max)
	}
}

// session is what every build path holds while it runs: the store, locked
// shared so that `zbuild prune` cannot collect what the build is making
// (other builds share it freely), and the event sink.
type session struct {
	st       *store.Store
	lock     *store.Lock
	events   progress.Sink
	start    time.Time
	maxStore int64
}

// openSession makes opts' context path absolute and opens its store.
func openSession(ctx context.Context, opts *Options) (*session, error) {
	s := &session{events: opts.Progress, start: time.Now(), maxStore: opts.MaxStorage}
	if s.events == nil {
		s.events = progress.Discard
	}
	if opts.ContextDir != "" {
		abs, err := filepath.Abs(opts.ContextDir)
		if err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
		opts.ContextDir = abs
	}
	root := opts.Root
	if root == "" {
		root = store.DefaultRoot()
	}
	st, err := store.Open(root)
	if err != nil {
		return nil, err
	}
	if s.lock, err = st.Shared(ctx); err != nil {
		return nil, err
	}
	s.st = st
	return s, nil
}

// close releases the store, then trims it to --max-storage: the trim needs
// the store lock exclusively.
func (s *session) close() {
	s.lock.Unlock()
	if s.maxStore > 0 {
		enforceCap(s.st, s.maxStore)
	}
}

// planInputs resolves the plan (reporting its lint warnings as events) and
// reads the secrets and ssh sockets the build may mount: what every build
// path needs before it runs a step.
func planInputs(ctx context.Context, opts Options, resolver dockerfile.ImageResolver, events progress.Sink) (*PlanResult, map[string][]byte, map[string]string, error) {
	pr, err := Plan(ctx, opts, resolver)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, wr := range pr.Warnings {
		events.Emit(progress.Event{Time: time.Now(), Kind: progress.Warning, Line: fmt.Sprintf("%s: %s (%s:%d)", wr.RuleName, wr.Message, wr.Pos.File, wr.Pos.Line), Pos: wr.Pos})
	}
	secrets, err := readSecrets(opts.Secrets)
	if err != nil {
		return nil, nil, nil, err
	}
	ssh, err := sshSockets(opts.SSH)
	if err != nil {
		return nil, nil, nil, err
	}
	return pr, secrets, ssh, nil
}
