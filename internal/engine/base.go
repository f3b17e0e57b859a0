package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/zbuild/zbuild/frontend/dockerfile"
	"github.com/zbuild/zbuild/internal/registry"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// baseImage is a resolved base: the image (in the local store) and its config.
type baseImage struct {
	img    v1.Image
	digest v1.Hash
	cfg    *v1.ConfigFile
}

// baseResolver finds base images in the store or a registry, once per
// (ref, platform, policy) for the engine's lifetime: concurrent requests for
// the same base share one lookup.
type baseResolver struct {
	store *store.Store
	reg   registry.Options

	mu    sync.Mutex
	cache map[string]*baseCall
}

type baseCall struct {
	done chan struct{}
	res  *baseImage
	err  error
}

func newBaseResolver(st *store.Store, reg registry.Options) *baseResolver {
	return &baseResolver{store: st, reg: reg, cache: map[string]*baseCall{}}
}

// resolve returns the image for ref. A failed lookup is not cached, so a
// later build can retry it.
func (r *baseResolver) resolve(ctx context.Context, ref string, p plan.Platform, pull string, events progress.Sink) (*baseImage, error) {
	key := ref + "|" + p.String() + "|" + pull
	r.mu.Lock()
	c, ok := r.cache[key]
	if !ok {
		c = &baseCall{done: make(chan struct{})}
		r.cache[key] = c
		r.mu.Unlock()
		c.res, c.err = r.lookup(ctx, ref, p, pull, events)
		if c.err != nil {
			r.mu.Lock()
			delete(r.cache, key)
			r.mu.Unlock()
		}
		close(c.done)
	} else {
		r.mu.Unlock()
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *baseResolver) lookup(ctx context.Context, ref string, p plan.Platform, pull string, events progress.Sink) (*baseImage, error) {
	if dir, ok := strings.CutPrefix(ref, "oci-layout://"); ok {
		return r.fromLayout(dir, p)
	}
	// With --default-registry, a short name means that registry's image in
	// the store too, not Docker Hub's.
	ref = r.reg.ExpandShortName(ref)
	if pull != "always" {
		img, h, err := r.store.Image(ctx, ref)
		switch {
		case err == nil:
			cfg, err := img.ConfigFile()
			if err != nil {
				return nil, fmt.Errorf("reading config of %s: %w", ref, err)
			}
			if platformMatches(cfg, p) {
				return &baseImage{img: img, digest: h, cfg: cfg}, nil
			}
			if pull == "never" {
				return nil, fmt.Errorf("image %s in the local store is %s/%s, not %s, and --pull=never forbids pulling", ref, cfg.OS, cfg.Architecture, p)
			}
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("looking up %s in the local store: %w", ref, err)
		case pull == "never":
			return nil, fmt.Errorf("image %s is not in the local store and --pull=never forbids pulling it", ref)
		}
	}
	events.Emit(progress.Event{Time: time.Now(), Kind: progress.Pull, Text: ref, Line: "pulling " + ref})
	remote, _, err := registry.Resolve(ctx, ref, v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}, r.reg)
	if err != nil {
		return nil, err
	}
	tag := ref
	if _, err := name.NewDigest(ref); err == nil {
		tag = "" // a digest reference is stored untagged
	}
	var tags []string
	if tag != "" {
		tags = []string{tag}
	}
	counted, err := pullProgress(remote, ref, events)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	h, err := r.store.PutImage(ctx, counted, tags...)
	if err != nil {
		return nil, fmt.Errorf("storing %s: %w", ref, err)
	}
	img, _, err := r.store.Image(ctx, "sha256:"+h.Hex)
	if err != nil {
		return nil, fmt.Errorf("reading %s back from the store: %w", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	events.Emit(progress.Event{Time: time.Now(), Kind: progress.Pull, Text: ref, Line: fmt.Sprintf("pulled %s (%s)", ref, h)})
	return &baseImage{img: img, digest: h, cfg: cfg}, nil
}

// fromLayout reads oci-layout://DIR[:tag], picking the tagged image (or the
// only one) for the platform.
func (r *baseResolver) fromLayout(spec string, p plan.Platform) (*baseImage, error) {
	dir, tag := spec, ""
	if i := strings.LastIndex(spec, ":"); i > 0 && !strings.Contains(spec[i:], "/") {
		dir, tag = spec[:i], spec[i+1:]
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("opening OCI layout %s: %w", dir, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var candidates []v1.Descriptor
	for _, d := range im.Manifests {
		if tag == "" || d.Annotations["org.opencontainers.image.ref.name"] == tag {
			candidates = append(candidates, d)
		}
	}
	for _, d := range candidates {
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			cm, err := child.IndexManifest()
			if err != nil {
				return nil, err
			}
			for _, cd := range cm.Manifests {
				if cd.Platform == nil || (cd.Platform.OS == p.OS && cd.Platform.Architecture == p.Architecture) {
					img, err := child.Image(cd.Digest)
					if err != nil {
						return nil, err
					}
					return layoutImage(img, cd.Digest)
				}
			}
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		return layoutImage(img, d.Digest)
	}
	if tag != "" {
		return nil, fmt.Errorf("OCI layout %s has no image tagged %q for %s", dir, tag, p)
	}
	return nil, fmt.Errorf("OCI layout %s has no image for %s", dir, p)
}

func layoutImage(img v1.Image, h v1.Hash) (*baseImage, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	return &baseImage{img: img, digest: h, cfg: cfg}, nil
}

func platformMatches(cfg *v1.ConfigFile, p plan.Platform) bool {
	if cfg.OS == "" && cfg.Architecture == "" {
		return true
	}
	return cfg.OS == p.OS && cfg.Architecture == p.Architecture
}

// Resolver adapts the engine's base lookup to the Dockerfile front-end, so
// ENV, WORKDIR, SHELL and ONBUILD of base images are known at plan time.
type Resolver struct {
	b      *baseResolver
	pull   string
	Events progress.Sink
}

// ResolveImageConfig implements dockerfile.ImageResolver.
func (r *Resolver) ResolveImageConfig(ctx context.Context, ref string, p plan.Platform) (dockerfile.ImageConfig, error) {
	ev := r.Events
	if ev == nil {
		ev = progress.Discard
	}
	bi, err := r.b.resolve(ctx, ref, p, r.pull, ev)
	if err != nil {
		return dockerfile.ImageConfig{}, err
	}
	c := bi.cfg.Config
	return dockerfile.ImageConfig{Env: c.Env, WorkingDir: c.WorkingDir, Shell: c.Shell, User: c.User, OnBuild: c.OnBuild, OS: bi.cfg.OS}, nil
}
