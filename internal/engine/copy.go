package engine

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/patternmatcher"

	"github.com/zbuild/zbuild/internal/copier"
	"github.com/zbuild/zbuild/internal/fetch"
	"github.com/zbuild/zbuild/internal/worker/linux"
	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// copy runs a COPY step: sources from the context, a stage or an image are
// written into a fresh snapshot, which becomes the step's layer.
func (b *build) copy(ctx context.Context, sr *stageResult, step *plan.Step, key string) (int64, error) {
	c := step.Copy
	root, err := b.sourceRoot(ctx, c.From, sr.platform)
	if err != nil {
		return 0, err
	}
	var ignore *patternmatcher.PatternMatcher
	if c.From.IsZero() {
		if ignore, err = b.ignoreMatcher(); err != nil {
			return 0, err
		}
	}
	snap, err := b.prepare(ctx, sr)
	if err != nil {
		return 0, err
	}
	// Files from the context become 0:0; files from a stage or an image keep
	// their owner, as in BuildKit.
	if err := b.transfer(ctx, sr, snap, c.Transfer, root, c.Transfer.Sources, ignore, false, !c.From.IsZero()); err != nil {
		snap.Remove()
		return 0, err
	}
	return b.commit(ctx, sr, snap, step, key)
}

// add runs an ADD step: local sources as COPY (archives extracted unless
// --unpack=false), URLs downloaded and git repositories cloned first.
func (b *build) add(ctx context.Context, sr *stageResult, step *plan.Step, key string) (int64, error) {
	a := step.Add
	local, remote := splitRemote(a.Sources)
	ignore, err := b.ignoreMatcher()
	if err != nil {
		return 0, err
	}
	snap, err := b.prepare(ctx, sr)
	if err != nil {
		return 0, err
	}
	fail := func(err error) (int64, error) {
		snap.Remove()
		return 0, err
	}
	unpackLocal := a.Unpack == nil || *a.Unpack
	if len(local) > 0 || len(a.Inline) > 0 {
		if err := b.transfer(ctx, sr, snap, a.Transfer, b.req.ContextDir, local, ignore, unpackLocal, false); err != nil {
			return fail(err)
		}
	}
	t := a.Transfer
	t.Inline = nil
	for _, src := range remote {
		f, err := b.prefetch(ctx, a, src)
		if err != nil {
			return fail(err)
		}
		if err := b.transfer(ctx, sr, snap, t, f.root, f.sources, nil, f.unpack, false); err != nil {
			return fail(err)
		}
	}
	return b.commit(ctx, sr, snap, step, key)
}

// splitRemote separates URL and git sources from local ones.
func splitRemote(sources []string) (local, remote []string) {
	for _, s := range sources {
		if fetch.IsURL(s) || fetch.IsGit(s) {
			remote = append(remote, s)
		} else {
			local = append(local, s)
		}
	}
	return local, remote
}

// fetched is a remote ADD source downloaded into a temp dir of the store.
type fetched struct {
	root    string
	sources []string
	unpack  bool
}

// prefetch downloads (once per build) an ADD URL or clones a git source;
// the cache key and the copy both use the result, and the temp dir goes
// when the build ends.
func (b *build) prefetch(ctx context.Context, a *plan.Add, src string) (*fetched, error) {
	b.mu.Lock()
	f, ok := b.remote[src]
	b.mu.Unlock()
	if ok {
		return f, nil
	}
	tmp, err := b.e.store.TempDir("add")
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.tmpDirs = append(b.tmpDirs, tmp)
	b.mu.Unlock()
	if fetch.IsGit(src) {
		repo := filepath.Join(tmp, "repo")
		if err := fetch.Git(ctx, src, a.KeepGitDir, repo); err != nil {
			return nil, err
		}
		f = &fetched{root: repo, sources: []string{"."}}
	} else {
		file, err := fetch.URL(ctx, src, a.Checksum, tmp)
		if err != nil {
			return nil, err
		}
		// A URL is never extracted unless --unpack=true, as in Docker.
		f = &fetched{root: tmp, sources: []string{filepath.Base(file)}, unpack: a.Unpack != nil && *a.Unpack}
	}
	b.mu.Lock()
	if b.remote == nil {
		b.remote = map[string]*fetched{}
	}
	b.remote[src] = f
	b.mu.Unlock()
	return f, nil
}

// transfer copies sources from srcRoot into the snapshot at t.Dest,
// resolved against the working directory, with t's ownership and mode
// (keepOwner keeps the sources' owners when t names none).
func (b *build) transfer(ctx context.Context, sr *stageResult, snap *linux.Snapshot, t plan.Transfer, srcRoot string, sources []string, ignore *patternmatcher.PatternMatcher, unpack, keepOwner bool) error {
	dest := t.Dest
	if !path.IsAbs(dest) {
		wd := sr.cfg.Config.WorkingDir
		if wd == "" {
			wd = "/"
		}
		dest = path.Join(wd, dest)
		if strings.HasSuffix(t.Dest, "/") || t.Dest == "." || strings.HasSuffix(t.Dest, "/.") {
			dest += "/"
		}
	}
	var owner *copier.Owner
	if t.Chown != "" {
		o, err := copier.ResolveOwner(snap.Merged, t.Chown)
		if err != nil {
			return err
		}
		if len(o.Unknown) > 0 {
			b.events.Emit(progress.Event{Time: time.Now(), Kind: progress.Warning,
				Line: fmt.Sprintf("--chown=%s: %s not found in the image's /etc/passwd or /etc/group; using 0 as BuildKit does", t.Chown, strings.Join(o.Unknown, ", "))})
		}
		owner = o
	}
	_, err := copier.Copy(ctx, copier.Request{
		SrcRoot:   srcRoot,
		Sources:   sources,
		Inline:    t.Inline,
		DestRoot:  snap.Merged,
		Dest:      dest,
		Owner:     owner,
		KeepOwner: keepOwner,
		Chmod:     t.Chmod,
		Parents:   t.Parents,
		Exclude:   t.Exclude,
		Ignore:    ignore,
		Unpack:    unpack,
		ModTime:   b.req.SourceDateEpoch,
	})
	return err
}

// ignoreMatcher compiles the plan's .dockerignore patterns once per build.
func (b *build) ignoreMatcher() (*patternmatcher.PatternMatcher, error) {
	b.ignoreOnce.Do(func() {
		if len(b.req.Graph.Context.Exclude) == 0 {
			return
		}
		b.ignore, b.ignoreErr = patternmatcher.New(b.req.Graph.Context.Exclude)
		if b.ignoreErr != nil {
			b.ignoreErr = fmt.Errorf("%s: %w", b.req.Graph.Context.IgnoreFile, b.ignoreErr)
		}
	})
	return b.ignore, b.ignoreErr
}

// sourceRoot is the host directory a COPY --from or a mount reads from:
// the context, a read-only view of a stage's result, or of an image.
func (b *build) sourceRoot(ctx context.Context, f plan.From, p plan.Platform) (string, error) {
	switch f.Kind {
	case plan.FromContext:
		return b.req.ContextDir, nil
	case plan.FromStage:
		return b.viewOf(ctx, b.results[f.Stage])
	case plan.FromImage:
		sr, err := b.imageSource(ctx, f.Ref, p)
		if err != nil {
			return "", err
		}
		return b.viewOf(ctx, sr)
	}
	return "", fmt.Errorf("unknown source kind %q", f.Kind)
}

// imageSource resolves an image used by COPY --from or a mount, once per build.
func (b *build) imageSource(ctx context.Context, ref string, p plan.Platform) (*stageResult, error) {
	b.mu.Lock()
	c, ok := b.images[ref]
	if !ok {
		c = &imageCall{done: make(chan struct{})}
		if b.images == nil {
			b.images = map[string]*imageCall{}
		}
		b.images[ref] = c
		b.mu.Unlock()
		c.sr, c.err = b.fromImage(ctx, ref, p, -1, ref)
		close(c.done)
	} else {
		b.mu.Unlock()
	}
	<-c.done
	return c.sr, c.err
}

type imageCall struct {
	done chan struct{}
	sr   *stageResult
	err  error
}

// viewOf mounts (once) a snapshot of sr's file system for reading. Views
// are removed when the build ends.
func (b *build) viewOf(ctx context.Context, sr *stageResult) (string, error) {
	sr.viewOnce.Do(func() {
		if sr.viewErr = b.unpack(ctx, sr); sr.viewErr != nil {
			return
		}
		sr.view, sr.viewErr = b.e.worker.Prepare(ctx, sr.lowers())
		if sr.viewErr == nil {
			b.mu.Lock()
			b.views = append(b.views, sr.view)
			b.mu.Unlock()
		}
	})
	if sr.viewErr != nil {
		return "", fmt.Errorf("mounting the files of stage %s: %w", sr.name, sr.viewErr)
	}
	return sr.view.Merged, nil
}
