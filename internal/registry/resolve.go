package registry

import (
	"context"
	"fmt"

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
	desc, err := remote.Get(r, opts.remoteOptions(ctx, platform)...)
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
