package build

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/zbuild/zbuild/internal/registry"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/plan"
)

// ManifestAddOptions describe adding one image to a manifest list.
type ManifestAddOptions struct {
	// Root is the store's data root; "" is the default.
	Root string
	// List names the manifest list (an image index) in the local store.
	List string
	// Image is a name or ID in the local store or, when the store lacks
	// it, a reference pulled from its registry (for Platform, default the
	// host's, when it names an index).
	Image string
	// Platform overrides the platform recorded for the image (default:
	// its config's os, architecture and variant).
	Platform *plan.Platform
	// Registry says how to reach registries.
	Registry RegistryOptions
}

// ManifestCreate stores a new, empty OCI image index named list, with
// images added as ManifestAdd would. An existing name is an error, so
// that a typo does not wipe a list.
func ManifestCreate(ctx context.Context, root, list string, images []string, ropts RegistryOptions) (string, error) {
	st, unlock, err := openShared(ctx, root)
	if err != nil {
		return "", err
	}
	if _, err := st.Descriptor(ctx, list); err == nil {
		unlock()
		return "", &UsageError{"manifest create", list, "already exists: add to it with zbuild manifest add, or remove it with zbuild rmi"}
	} else if !errors.Is(err, store.ErrNotFound) {
		unlock()
		return "", err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	d, err := st.PutIndex(ctx, idx, list)
	unlock()
	if err != nil {
		return "", fmt.Errorf("storing manifest list %s: %w", list, err)
	}
	digest := d.String()
	for _, img := range images {
		if digest, err = ManifestAdd(ctx, ManifestAddOptions{Root: root, List: list, Image: img, Registry: ropts}); err != nil {
			return "", err
		}
	}
	return digest, nil
}

// ManifestAdd adds an image to the manifest list and returns the list's
// new digest. An entry with the same image digest is replaced (so its
// platform can be corrected); other entries stay.
func ManifestAdd(ctx context.Context, opts ManifestAddOptions) (string, error) {
	st, unlock, err := openShared(ctx, opts.Root)
	if err != nil {
		return "", err
	}
	defer unlock()
	idx, _, err := st.Index(ctx, opts.List)
	if errors.Is(err, store.ErrNotImage) {
		return "", &UsageError{"manifest add", opts.List, "is an image, not a manifest list"}
	}
	if err != nil {
		return "", fmt.Errorf("manifest list %s: %w (create it with zbuild manifest create)", opts.List, err)
	}
	img, err := manifestImage(ctx, st, opts)
	if err != nil {
		return "", err
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	p, err := imagePlatform(img, opts.Platform)
	if err != nil {
		return "", err
	}
	mt, err := img.MediaType()
	if err != nil {
		return "", err
	}
	idx = mutate.RemoveManifests(idx, func(d v1.Descriptor) bool { return d.Digest == digest })
	idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{MediaType: mt, Platform: p}})
	d, err := st.PutIndex(ctx, idx, opts.List)
	if err != nil {
		return "", fmt.Errorf("storing manifest list %s: %w", opts.List, err)
	}
	return d.String(), nil
}

// manifestImage finds opts.Image in the store, else in its registry.
func manifestImage(ctx context.Context, st *store.Store, opts ManifestAddOptions) (v1.Image, error) {
	var want v1.Platform
	if opts.Platform != nil {
		want = v1.Platform{OS: opts.Platform.OS, Architecture: opts.Platform.Architecture, Variant: opts.Platform.Variant}
	}
	img, _, err := st.ImageForPlatform(ctx, opts.Image, want)
	if err == nil {
		return img, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	rimg, _, rerr := registry.Resolve(ctx, opts.Image, want, opts.Registry.internal())
	if rerr != nil {
		return nil, fmt.Errorf("image %s is not in the local store, and pulling it failed: %w", opts.Image, rerr)
	}
	return rimg, nil
}

// imagePlatform is the platform of an index entry: override, else the
// image config's.
func imagePlatform(img v1.Image, override *plan.Platform) (*v1.Platform, error) {
	if override != nil {
		return &v1.Platform{OS: override.OS, Architecture: override.Architecture, Variant: override.Variant}, nil
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", err)
	}
	if cfg.OS == "" || cfg.Architecture == "" {
		return nil, &UsageError{"--platform", "", "the image config names no platform: give --platform os/arch"}
	}
	return cfg.Platform(), nil
}

// ManifestInspect returns the stored manifest list's JSON as stored.
func ManifestInspect(ctx context.Context, root, list string) ([]byte, error) {
	st, unlock, err := openShared(ctx, root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	idx, _, err := st.Index(ctx, list)
	if err != nil {
		return nil, err
	}
	return idx.RawManifest()
}
