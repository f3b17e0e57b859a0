package registry

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/go-containerregistry/pkg/name"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/zbuild/zbuild/internal/store"
)

// Resolve looks ref up in its registry and returns the image for platform
// with its manifest digest. An index is resolved to its entry for platform
// (fields left empty match anything; a zero platform means
// DefaultPlatform); with no match the error is a *store.PlatformError
// listing the platforms the index has. A single-platform image is returned
// whatever its platform, as docker does. Only the manifest is fetched now:
// the config and layers are fetched when read. Registry errors keep the
// go-containerregistry *transport.Error reachable through errors.As.
func Resolve(ctx context.Context, ref string, platform v1.Platform, opts Options) (v1.Image, v1.Hash, error) {
	if platform.OS == "" && platform.Architecture == "" {
		platform = DefaultPlatform()
	}
	r, err := opts.parseRef(ref)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	where := fmt.Sprintf("%s (registry %s)", r.String(), r.Context().RegistryStr())
	desc, err := opts.get(ctx, r, platform)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("resolving %s: %w", where, err)
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("reading image %s: %w", where, err)
		}
		return img, desc.Digest, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("reading index %s: %w", where, err)
	}
	return fromIndex(ctx, idx, platform, where)
}

// fromIndex walks idx (and nested indexes) down to the image for platform.
func fromIndex(ctx context.Context, idx v1.ImageIndex, platform v1.Platform, where string) (v1.Image, v1.Hash, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, v1.Hash{}, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("reading index %s: %w", where, err)
		}
		d, err := store.SelectPlatform(im, platform)
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("resolving %s: %w", where, err)
		}
		if d.MediaType.IsIndex() {
			if idx, err = idx.ImageIndex(d.Digest); err != nil {
				return nil, v1.Hash{}, fmt.Errorf("reading index %s in %s: %w", d.Digest, where, err)
			}
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("reading image %s in %s: %w", d.Digest, where, err)
		}
		return img, d.Digest, nil
	}
}

// get fetches r's descriptor, from the mirrors first when r is on Docker
// Hub. A failing mirror is skipped (and logged at debug level), so a
// mirror can only make a pull faster, never break it.
func (o Options) get(ctx context.Context, r name.Reference, platform v1.Platform) (*remote.Descriptor, error) {
	if r.Context().RegistryStr() == dockerHubHost {
		for _, m := range o.Mirrors {
			mr, err := onRegistry(r, m, o.isInsecure(m))
			if err != nil {
				return nil, fmt.Errorf("registry mirror %q: %w", m, err)
			}
			ropts, err := o.remoteOptions(ctx, m, platform)
			if err != nil {
				return nil, err
			}
			desc, err := remote.Get(mr, ropts...)
			if err == nil {
				return desc, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			slog.Debug("registry mirror failed, trying the next source", "mirror", m, "ref", r.String(), "err", err)
		}
	}
	ropts, err := o.remoteOptions(ctx, r.Context().RegistryStr(), platform)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, authError(r.Context().RegistryStr(), o.Keychain, err)
	}
	return desc, nil
}

// onRegistry is r moved to registry host (same repository and tag or
// digest).
func onRegistry(r name.Reference, host string, insecure bool) (name.Reference, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	return name.ParseReference(host+"/"+r.Context().RepositoryStr()+sep(r)+r.Identifier(), opts...)
}

// sep is what joins a reference's repository and identifier.
func sep(r name.Reference) string {
	if _, ok := r.(name.Digest); ok {
		return "@"
	}
	return ":"
}
