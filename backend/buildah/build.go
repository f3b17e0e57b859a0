package buildah

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// Options describe one build run through buildah.
type Options struct {
	// ContextDir is the absolute build context directory.
	ContextDir string
	// Pull is the base image policy: "missing" (default), "always" or "never".
	Pull string
	// Network is the default network of RUN steps: "default", "none" or "host".
	Network string
	// Secrets are the RUN --mount=type=secret values by id.
	Secrets map[string][]byte
	// SSH maps RUN --mount=type=ssh ids to agent sockets.
	SSH map[string]string
	// Jobs bounds how many stages run at once; 0 is 2.
	Jobs int
	// Labels are added to the final image config.
	Labels map[string]string
	// Tags name the result in buildah's storage; without tags the image is
	// removed from it once exported.
	Tags []string
	// Progress receives build events; nil discards them.
	Progress progress.Sink
}

// Result is a finished build. Close removes the exported copy.
type Result struct {
	// ImageID is the image's ID in buildah's storage.
	ImageID string
	// Image is the result exported from buildah, readable until Close.
	Image v1.Image
	// Steps is the number of steps run; Layers those that wrote files
	// (RUN, COPY, ADD).
	Steps, Layers int
	dir           string
}

// Close removes the exported image files.
func (r *Result) Close() error { return os.RemoveAll(r.dir) }

// StepError is a step that failed, with its place in the plan.
type StepError struct {
	Stage int
	Step  plan.Step
	Err   error
}

func (e *StepError) Error() string {
	loc := ""
	if e.Step.Pos.Line > 0 {
		loc = fmt.Sprintf("%s:%d: ", orDefault(e.Step.Pos.File, "Dockerfile"), e.Step.Pos.Line)
	}
	title, _, more := strings.Cut(e.Step.Text, "\n")
	if more {
		title += " …"
	}
	return fmt.Sprintf("%s%s: %v", loc, title, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// UnsupportedError is a plan feature this backend cannot express with the
// buildah command line.
type UnsupportedError struct{ Feature string }

func (e *UnsupportedError) Error() string {
	return e.Feature + " is not supported by the buildah backend (use --backend native)"
}

// Build runs g with buildah: a working container per stage, a commit per
// step, independent stages in parallel. Every container and intermediate
// image is removed whether the build succeeds, fails or is cancelled.
func Build(ctx context.Context, cli *CLI, g *plan.Graph, opts Options) (res *Result, err error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("invalid plan: %w", err)
	}
	if opts.Progress == nil {
		opts.Progress = progress.Discard
	}
	tmp, err := os.MkdirTemp("", "zbuild-buildah-")
	if err != nil {
		return nil, fmt.Errorf("making a temp dir: %w", err)
	}
	b := &build{cli: cli, g: g, opts: opts, tmp: tmp, done: map[int]chan struct{}{}, images: map[int]string{}}
	for _, i := range g.Needed() {
		b.done[i] = make(chan struct{})
	}
	defer func() {
		if cerr := b.cleanup(); cerr != nil && err == nil {
			err = cerr
		}
		if res == nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := b.runStages(ctx); err != nil {
		return nil, err
	}
	id := b.images[g.Target]
	// The result goes too unless the build succeeds and it has tags.
	b.track(&b.removeImages, id)
	if len(opts.Tags) > 0 {
		if _, err := cli.Output(ctx, append([]string{"tag", id}, opts.Tags...)...); err != nil {
			return nil, fmt.Errorf("tagging the image: %w", err)
		}
	}
	img, err := b.export(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(opts.Tags) > 0 {
		b.mu.Lock()
		b.removeImages = slices.DeleteFunc(b.removeImages, func(s string) bool { return s == id })
		b.mu.Unlock()
	}
	return &Result{ImageID: id, Image: img, Steps: int(b.steps.Load()), Layers: int(b.layers.Load()), dir: tmp}, nil
}

// build is the state of one Build.
type build struct {
	cli  *CLI
	g    *plan.Graph
	opts Options
	tmp  string

	ids, steps, layers, seq atomic.Int64

	mu            sync.Mutex
	done          map[int]chan struct{} // closed when the stage's image is ready
	images        map[int]string        // stage index → final image ID
	containers    []string              // working containers to remove
	mounted       []string              // containers mounted on the host
	intermediates []string              // step and stage images to remove
	removeImages  []string              // results to remove after export
}

// runStages runs the needed stages, in source order, at most Jobs at once.
// A stage waits for the stages it reads; they come earlier in source order
// and so hold their slot first, which rules out a deadlock.
func (b *build) runStages(ctx context.Context) error {
	eg, ctx := errgroup.WithContext(ctx)
	jobs := b.opts.Jobs
	if jobs <= 0 {
		jobs = 2
	}
	eg.SetLimit(jobs)
	for _, i := range b.g.Needed() {
		eg.Go(func() error {
			id, err := b.runStage(ctx, i)
			if err != nil {
				return err
			}
			b.mu.Lock()
			b.images[i] = id
			if i != b.g.Target {
				b.intermediates = append(b.intermediates, id)
			}
			b.mu.Unlock()
			close(b.done[i])
			return nil
		})
	}
	return eg.Wait()
}

// stageImage waits for stage i and returns its image ID.
func (b *build) stageImage(ctx context.Context, i int) (string, error) {
	ch, ok := b.done[i]
	if !ok {
		return "", fmt.Errorf("stage %d is not part of this build", i)
	}
	select {
	case <-ch:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.images[i], nil
}

func (b *build) track(list *[]string, id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	*list = append(*list, id)
}

// cleanup removes what the build made in buildah's storage. It runs even
// after a cancel, on a fresh bounded context.
func (b *build) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, c := range b.mounted {
		if _, err := b.cli.Output(ctx, "umount", c); err != nil {
			errs = append(errs, err)
		}
	}
	// Names are tracked before `buildah from` runs, so a cancelled from
	// leaves nothing behind either; one that never got created is "not
	// known", which is fine.
	for _, c := range b.containers {
		if _, err := b.cli.Output(ctx, "rm", c); err != nil && !notKnown(err) {
			errs = append(errs, err)
		}
	}
	// Newest first: a later step's image sits on an earlier one's layers.
	imgs := slices.Clone(b.intermediates)
	slices.Reverse(imgs)
	imgs = append(imgs, b.removeImages...)
	imgs = slices.Compact(imgs)
	if len(imgs) > 0 {
		if _, err := b.cli.Output(ctx, append([]string{"rmi", "--force"}, imgs...)...); err != nil {
			errs = append(errs, err)
		}
	}
	b.mounted, b.containers, b.intermediates, b.removeImages = nil, nil, nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleaning up buildah containers and images: %w", err)
	}
	return nil
}

// notKnown reports whether err is buildah saying a container or image does
// not exist.
func notKnown(err error) bool {
	var ce *CommandError
	return errors.As(err, &ce) && strings.Contains(ce.Output, "not known")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
