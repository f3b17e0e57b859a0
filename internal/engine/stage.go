package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/internal/worker/linux"
	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// layerRef is one layer of a stage's chain: its unpacked overlay-format
// directory (a short path, used as an overlay lower dir) and its blob.
type layerRef struct {
	dir    string // "" until unpacked
	layer  v1.Layer
	diffID v1.Hash
}

// stageResult is a stage's file system (as a layer chain) and image config
// as its steps change them.
type stageResult struct {
	index  int
	name   string
	layers []layerRef // bottom first
	cfg    v1.ConfigFile
	// key is the cache key of the state after the last applied step.
	key string
	// baseDigest is the manifest digest of the base image ("" otherwise).
	baseDigest string
	platform   plan.Platform

	viewOnce sync.Once
	view     *linux.Snapshot
	viewErr  error
}

// lowers returns the chain's directories top first, as overlayfs wants them.
func (s *stageResult) lowers() []string {
	out := make([]string, len(s.layers))
	for i, l := range s.layers {
		out[len(s.layers)-1-i] = l.dir
	}
	return out
}

// clone copies s for a stage that starts FROM it; layer refs are shared
// (read-only), the config is deep-copied through its JSON form.
func (s *stageResult) clone(index int, name string) (*stageResult, error) {
	n := &stageResult{index: index, name: name, layers: append([]layerRef(nil), s.layers...), key: s.key, platform: s.platform}
	cfg, err := copyConfig(&s.cfg)
	if err != nil {
		return nil, err
	}
	n.cfg = *cfg
	return n, nil
}

// runStage builds stage i: its base, then each step in order. A step that
// touches the file system is looked up in the cache by its key first; a hit
// reuses the recorded layer, a miss runs and says why it missed.
func (b *build) runStage(ctx context.Context, i int) (*stageResult, error) {
	st := &b.req.Graph.Stages[i]
	stageEv := progress.Event{Stage: i, StageName: st.Name, Steps: len(st.Steps), Text: "FROM " + baseText(b.req.Graph, st.Base), Pos: st.Pos}
	b.emit(stageEv, progress.StageStarted)
	stageStart := time.Now()
	sr, err := b.initStage(ctx, st)
	if err != nil {
		return nil, &StepError{Stage: i, Step: plan.Step{Text: "FROM " + baseText(b.req.Graph, st.Base), Pos: st.Pos}, Err: err}
	}
	noCache := b.req.NoCache || slices.Contains(b.req.NoCacheFilter, st.Name) || slices.Contains(b.req.NoCacheFilter, strconv.Itoa(i))
	for j := range st.Steps {
		step := &st.Steps[j]
		id := int(b.ids.Add(1))
		ev := progress.Event{ID: id, Stage: i, StageName: st.Name, Step: j + 1, Steps: len(st.Steps), Text: step.Text, Pos: step.Pos}
		start := time.Now()
		size, cached, err := b.runStep(ctx, sr, step, ev, noCache, fmt.Sprintf("%d/%d", i, j))
		if err != nil {
			ev.Error = err.Error()
			b.emit(ev, progress.StepFailed)
			return nil, &StepError{Stage: i, Step: *step, Err: err}
		}
		b.mu.Lock()
		if cached {
			b.nCached++
		} else {
			b.nSteps++
			if size > 0 {
				b.nLayer++
			}
		}
		b.mu.Unlock()
		if !cached {
			ev.Duration, ev.Size = time.Since(start), size
			b.emit(ev, progress.StepDone)
		}
	}
	stageEv.Duration = time.Since(stageStart)
	b.emit(stageEv, progress.StageDone)
	return sr, nil
}

func (b *build) emit(ev progress.Event, kind progress.Kind) {
	ev.Kind, ev.Time = kind, time.Now()
	b.events.Emit(ev)
}

// runStep applies one step. Metadata-only steps just change the config (and
// the chain key). Others are keyed and looked up; on a hit (cached) a
// StepCached event replaces StepStarted and StepDone.
func (b *build) runStep(ctx context.Context, sr *stageResult, step *plan.Step, ev progress.Event, noCache bool, pos string) (size int64, cached bool, err error) {
	canonical := string(step.Canonical())
	if step.Config != nil && !makesLayer(sr, step.Config) {
		b.emit(ev, progress.StepStarted)
		applyMeta(sr, step.Config)
		at := sr.lastCreated()
		if b.req.SourceDateEpoch != nil {
			at = b.created()
		}
		sr.addHistory(step, true, at)
		sr.key = chainKey(sr.key, canonical)
		return 0, false, nil
	}
	in, err := b.inputs(ctx, sr, step)
	if err != nil {
		b.emit(ev, progress.StepStarted)
		return 0, false, err
	}
	parent := sr.key
	// The layer's compression is part of the key: a gzip build must not
	// reuse a zstd layer, nor the reverse.
	key := chainKey(parent, canonical, in.digest, "compression="+string(b.req.Compression))
	slot := slotRecord{Parent: parent, Step: canonical, Inputs: in.digest, Files: in.files, Base: sr.baseDigest}
	if step.Run != nil {
		slot.BuildArgs = step.Run.BuildArgs
	}
	b.explain.record(pos, slot)
	reason := "--no-cache"
	if !noCache {
		rec, ok, err := b.e.store.CacheRecord(key)
		if err != nil {
			return 0, false, err
		}
		if ok {
			if step.Config != nil {
				applyMeta(sr, step.Config)
			}
			size, err := b.reuse(sr, rec)
			if err != nil {
				return 0, true, err
			}
			b.noteUsed(sr, key, rec)
			sr.key = key
			ev.Reason, ev.Size = "CACHED", size
			b.emit(ev, progress.StepCached)
			return size, true, nil
		}
		reason = b.explain.reason(pos, slot)
	}
	ev.Reason = reason
	b.emit(ev, progress.StepStarted)
	switch {
	case step.Config != nil:
		applyMeta(sr, step.Config)
		size, err = b.workdir(ctx, sr, step, key)
	case step.Run != nil:
		size, err = b.run(ctx, sr, step, ev, key)
	case step.Copy != nil:
		size, err = b.copy(ctx, sr, step, key)
	case step.Add != nil:
		size, err = b.add(ctx, sr, step, key)
	default:
		err = fmt.Errorf("step has no operation")
	}
	if err == nil {
		sr.key = key
	}
	return size, false, err
}

// defaultPath is the PATH BuildKit gives Linux images that define none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// initStage makes the starting state of st from its base, with a default
// PATH when the base defines none (as BuildKit does for Linux images).
func (b *build) initStage(ctx context.Context, st *plan.Stage) (*stageResult, error) {
	sr, err := b.baseState(ctx, st)
	if err != nil {
		return nil, err
	}
	sr.platform = st.Platform
	switch st.Base.Kind {
	case plan.BaseScratch:
		sr.key = chainKey("scratch", st.Platform.String())
	case plan.BaseStage:
		sr.key = chainKey(b.results[st.Base.Stage].key, "stage")
	default:
		sr.key = chainKey("image:"+sr.baseDigest, st.Platform.String())
	}
	if sr.cfg.OS != "windows" {
		if _, ok := lookupEnv(sr.cfg.Config.Env, "PATH"); !ok {
			sr.cfg.Config.Env = append(sr.cfg.Config.Env, "PATH="+defaultPath)
		}
	}
	return sr, nil
}

func (b *build) baseState(ctx context.Context, st *plan.Stage) (*stageResult, error) {
	switch st.Base.Kind {
	case plan.BaseScratch:
		sr := &stageResult{index: st.Index, name: st.Name}
		sr.cfg.OS, sr.cfg.Architecture, sr.cfg.Variant = st.Platform.OS, st.Platform.Architecture, st.Platform.Variant
		sr.cfg.RootFS.Type = "layers"
		return sr, nil
	case plan.BaseStage:
		sr, err := b.results[st.Base.Stage].clone(st.Index, st.Name)
		if err != nil {
			return nil, err
		}
		// As with an image base: the front-end ran the triggers as this
		// stage's first steps, and they are not inherited.
		sr.cfg.Config.OnBuild = nil
		return sr, nil
	default:
		ref := st.Base.Ref
		if st.Base.Kind == plan.BaseOCILayout {
			ref = "oci-layout://" + ref
		}
		return b.fromImage(ctx, ref, st.Platform, st.Index, st.Name)
	}
}

// fromImage starts a stage (or a COPY --from source) from an image: its
// layers are unpacked once into the store and used as lower dirs.
func (b *build) fromImage(ctx context.Context, ref string, p plan.Platform, index int, name string) (*stageResult, error) {
	bi, err := b.e.bases.resolve(ctx, ref, p, b.req.Pull, b.events)
	if err != nil {
		return nil, err
	}
	cfg, err := copyConfig(bi.cfg)
	if err != nil {
		return nil, err
	}
	// Triggers of the base run as the stage's first steps (the front-end put
	// them there); the new image does not inherit them.
	cfg.Config.OnBuild = nil
	sr := &stageResult{index: index, name: name, cfg: *cfg, baseDigest: bi.digest.String(), platform: p}
	layers, err := bi.img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing layers of %s: %w", ref, err)
	}
	// Layers are unpacked only when a step has to run on them (prepare).
	for _, l := range layers {
		diffID, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("reading a layer of %s: %w", ref, err)
		}
		sr.layers = append(sr.layers, layerRef{layer: l, diffID: diffID})
	}
	return sr, nil
}

func baseText(g *plan.Graph, b plan.Base) string {
	switch b.Kind {
	case plan.BaseStage:
		if n := g.Stages[b.Stage].Name; n != "" {
			return n
		}
		return fmt.Sprint(b.Stage)
	case plan.BaseScratch:
		return "scratch"
	case plan.BaseOCILayout:
		return "oci-layout://" + b.Ref
	}
	return b.Ref
}
