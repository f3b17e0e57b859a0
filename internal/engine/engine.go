package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/patternmatcher"
	"golang.org/x/sync/errgroup"

	"github.com/zbuild/zbuild/internal/layer"
	"github.com/zbuild/zbuild/internal/registry"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/worker/linux"
	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// Engine runs plans. It is safe for concurrent use by several builds.
type Engine struct {
	store    *store.Store
	worker   *linux.Worker
	registry registry.Options
	bases    *baseResolver
}

// New returns an engine over a store, a worker and registry options.
func New(st *store.Store, w *linux.Worker, reg registry.Options) *Engine {
	return &Engine{store: st, worker: w, registry: reg, bases: newBaseResolver(st, reg)}
}

// Request is one build of a plan.
type Request struct {
	Graph *plan.Graph
	// ContextDir is the build context on the host.
	ContextDir string
	// Pull is "missing" (default), "always" or "never".
	Pull string
	// Network is the default network of RUN steps ("default", "none", "host").
	Network string
	// Secrets maps secret ids to their values (already read by the caller).
	Secrets map[string][]byte
	// SSH maps ssh ids to agent socket paths.
	SSH map[string]string
	// Jobs bounds concurrently running stages; 0 is the CPU count.
	Jobs int
	// SourceDateEpoch clamps file and image timestamps when set.
	SourceDateEpoch *time.Time
	// Compression of new layers (gzip by default).
	Compression layer.Compression
	// Labels are added to the final image's config.
	Labels map[string]string
	// Progress receives events; nil discards them.
	Progress progress.Sink
	// NoCache runs every step; NoCacheFilter only those of the named
	// stages (names or indexes).
	NoCache       bool
	NoCacheFilter []string
	// Slot names this build (its Dockerfile and context) so that the next
	// build of it can explain cache misses; "" disables explanations.
	Slot string
}

// Result is a built image, not yet written anywhere but the store's blobs.
type Result struct {
	Image v1.Image
	// ImageID is the config digest, as `docker build` prints it.
	ImageID v1.Hash
	// Steps counts the steps run, Cached those reused from the cache,
	// Layers the layers written.
	Steps, Cached, Layers int
	// Records are the cache records this build used or wrote, for export
	// (--cache-to); Stage tells which stage each belongs to.
	Records []CacheEntry
	// Target is the index of the stage the image came from.
	Target int
	// CacheMounts are the ids of the RUN cache mounts the build's steps used.
	CacheMounts []string
}

// CacheEntry is one cache record with its key and stage.
type CacheEntry struct {
	Stage  int
	Key    string
	Record store.CacheRecord
}

// StepError is a step that failed; it carries the step for error messages.
type StepError struct {
	Stage int
	Step  plan.Step
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %v", e.Step.Pos.File, e.Step.Pos.Line, firstLine(e.Step.Text), e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Resolver returns the frontend-facing base image resolver, sharing this
// engine's cache of resolved images so nothing is looked up twice.
func (e *Engine) Resolver(pull string) *Resolver { return &Resolver{b: e.bases, pull: pull} }

// build is the state of one Build call.
type build struct {
	e       *Engine
	req     Request
	events  progress.Sink
	ids     atomic.Int64
	results []*stageResult
	done    []chan struct{}

	ignoreOnce sync.Once
	ignore     *patternmatcher.PatternMatcher
	ignoreErr  error

	hasher  *statHasher
	explain *explainer

	mu      sync.Mutex
	nSteps  int
	nCached int
	nLayer  int
	images  map[string]*imageCall
	views   []*linux.Snapshot
	remote  map[string]*fetched
	tmpDirs []string
	used    []CacheEntry
	mounts  map[string]bool
}

// cleanup removes the read-only views mounted for COPY --from and mounts.
func (b *build) cleanup() {
	b.mu.Lock()
	views, tmps := b.views, b.tmpDirs
	b.views, b.tmpDirs = nil, nil
	b.mu.Unlock()
	for _, d := range tmps {
		os.RemoveAll(d)
	}
	for _, v := range views {
		if err := v.Remove(); err != nil {
			slog.Warn("removing a snapshot", "dir", v.Merged, "err", err)
		}
	}
}

// Build runs the stages req.Graph.Target needs and returns the target's image.
func (e *Engine) Build(ctx context.Context, req Request) (*Result, error) {
	g := req.Graph
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if req.Progress == nil {
		req.Progress = progress.Discard
	}
	if req.Compression == "" {
		req.Compression = layer.Gzip
	}
	jobs := req.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	b := &build{e: e, req: req, events: req.Progress, results: make([]*stageResult, len(g.Stages)), done: make([]chan struct{}, len(g.Stages))}
	for i := range b.done {
		b.done[i] = make(chan struct{})
	}
	b.hasher = loadStatHasher(e.store, req.ContextDir)
	b.explain = loadExplainer(e.store, req.Slot)
	defer b.cleanup()
	needed := g.Needed()
	// Stages run as soon as the stages they read from are done; the errgroup
	// cancels every sibling when one fails, and the semaphore bounds how
	// many run at once.
	eg, ctx := errgroup.WithContext(ctx)
	sem := make(chan struct{}, jobs)
	for _, i := range needed {
		eg.Go(func() error {
			for _, d := range g.Stages[i].Deps() {
				select {
				case <-b.done[d]:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			defer func() { <-sem }()
			res, err := b.runStage(ctx, i)
			if err != nil {
				return err
			}
			b.results[i] = res
			close(b.done[i])
			return nil
		})
	}
	// errgroup keeps the first error: the failing step's, not the
	// cancellations it caused in sibling stages.
	err := eg.Wait()
	b.hasher.save(e.store, req.ContextDir)
	if req.Slot != "" {
		b.explain.save(e.store)
	}
	if err != nil {
		return nil, err
	}
	final := b.results[g.Target]
	img, err := final.image(req.Labels, req.SourceDateEpoch)
	if err != nil {
		return nil, fmt.Errorf("assembling the image: %w", err)
	}
	id, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	var mounts []string
	for id := range b.mounts {
		mounts = append(mounts, id)
	}
	sort.Strings(mounts)
	return &Result{Image: img, ImageID: id, Steps: b.nSteps, Cached: b.nCached, Layers: b.nLayer, Records: b.used, Target: g.Target, CacheMounts: mounts}, nil
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}
