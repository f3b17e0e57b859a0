package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/stream"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// layerJobs is how many layers of one image are written at once: enough to
// overlap registry round trips during a pull, few enough for two cores.
const layerJobs = 3

// PutImage stores img: its missing layers, its config and its manifest, then
// points each tag at it in one atomic index update. Tags are normalised
// ("busybox" is docker.io/library/busybox:latest); a tag that named another
// image moves. With no tags the image is kept untagged. Non-distributable
// (foreign) layers are not copied, as registries do not serve them either.
// It returns the manifest digest.
func (s *Store) PutImage(ctx context.Context, img v1.Image, tags ...string) (v1.Hash, error) {
	refs, err := normalizeTags(tags)
	if err != nil {
		return v1.Hash{}, err
	}
	lock, err := s.Shared(ctx)
	if err != nil {
		return v1.Hash{}, err
	}
	defer lock.Unlock()
	desc, err := s.writeImage(ctx, img)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := s.updateIndex(ctx, func(idx *indexFile) (bool, error) {
		return idx.setTags(desc, refs), nil
	}); err != nil {
		return v1.Hash{}, fmt.Errorf("tagging image %s: %w", desc.Digest, err)
	}
	return desc.Digest, nil
}

// PutIndex stores an image index with every image and nested index it lists,
// then points the tags at it, like PutImage.
func (s *Store) PutIndex(ctx context.Context, idx v1.ImageIndex, tags ...string) (v1.Hash, error) {
	refs, err := normalizeTags(tags)
	if err != nil {
		return v1.Hash{}, err
	}
	lock, err := s.Shared(ctx)
	if err != nil {
		return v1.Hash{}, err
	}
	defer lock.Unlock()
	desc, err := s.writeIndex(ctx, idx)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := s.updateIndex(ctx, func(f *indexFile) (bool, error) {
		return f.setTags(desc, refs), nil
	}); err != nil {
		return v1.Hash{}, fmt.Errorf("tagging index %s: %w", desc.Digest, err)
	}
	return desc.Digest, nil
}

// writeImage writes the blobs of img, manifest last, and returns the
// descriptor for index.json. Writing the manifest last means a manifest in
// the store always has its config and layers.
func (s *Store) writeImage(ctx context.Context, img v1.Image) (v1.Descriptor, error) {
	layers, err := img.Layers()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("listing layers: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(layerJobs)
	for _, l := range layers {
		g.Go(func() error { return s.writeLayer(gctx, l) })
	}
	if err := g.Wait(); err != nil {
		return v1.Descriptor{}, err
	}

	cfgName, err := img.ConfigName()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading config digest: %w", err)
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading config: %w", err)
	}
	if _, _, err := s.writeBlob(ctx, bytes.NewReader(rawCfg), cfgName, int64(len(rawCfg))); err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing config: %w", err)
	}

	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading manifest: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading manifest media type: %w", err)
	}
	digest, _, err := s.writeBlob(ctx, bytes.NewReader(raw), v1.Hash{}, -1)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing manifest: %w", err)
	}
	desc := v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: digest}
	if cfg, err := img.ConfigFile(); err == nil && cfg.OS != "" {
		desc.Platform = cfg.Platform()
	}
	return desc, nil
}

// writeLayer copies one layer's compressed blob unless the store has it.
func (s *Store) writeLayer(ctx context.Context, l v1.Layer) error {
	mt, err := l.MediaType()
	if err != nil {
		return fmt.Errorf("reading layer media type: %w", err)
	}
	if !mt.IsDistributable() {
		return nil
	}
	want, err := l.Digest()
	streaming := errors.Is(err, stream.ErrNotComputed)
	if err != nil && !streaming {
		return fmt.Errorf("reading layer digest: %w", err)
	}
	size := int64(-1)
	if !streaming {
		if s.HasBlob(want) {
			return nil
		}
		if size, err = l.Size(); err != nil {
			return fmt.Errorf("reading layer %s size: %w", want, err)
		}
	} else {
		// A stream layer learns its digest only once read to the end.
		want = v1.Hash{}
	}
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("opening layer %s: %w", want, err)
	}
	got, _, err := s.writeBlob(ctx, rc, want, size)
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing layer %s: %w", want, err)
	}
	if streaming {
		if d, err := l.Digest(); err != nil || d != got {
			return fmt.Errorf("writing stream layer: stored %s, layer reports %v (%v)", got, d, err)
		}
	}
	return nil
}

// writeIndex writes every child of idx (images, nested indexes, other blobs
// it can fetch), then its manifest.
func (s *Store) writeIndex(ctx context.Context, idx v1.ImageIndex) (v1.Descriptor, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading index manifest: %w", err)
	}
	for _, child := range im.Manifests {
		switch {
		case child.MediaType.IsIndex():
			ii, err := idx.ImageIndex(child.Digest)
			if err != nil {
				return v1.Descriptor{}, fmt.Errorf("reading index %s: %w", child.Digest, err)
			}
			if _, err := s.writeIndex(ctx, ii); err != nil {
				return v1.Descriptor{}, err
			}
		case child.MediaType.IsImage():
			img, err := idx.Image(child.Digest)
			if err != nil {
				return v1.Descriptor{}, fmt.Errorf("reading image %s: %w", child.Digest, err)
			}
			if _, err := s.writeImage(ctx, img); err != nil {
				return v1.Descriptor{}, fmt.Errorf("writing image %s: %w", child.Digest, err)
			}
		default:
			if err := s.writeOtherChild(ctx, idx, child); err != nil {
				return v1.Descriptor{}, err
			}
		}
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading index manifest: %w", err)
	}
	mt, err := idx.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("reading index media type: %w", err)
	}
	digest, _, err := s.writeBlob(ctx, bytes.NewReader(raw), v1.Hash{}, -1)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("writing index manifest: %w", err)
	}
	return v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: digest}, nil
}

// writeOtherChild copies an index entry that is neither image nor index
// (an attestation, a signature) when the index can serve it as a blob; one
// that cannot be fetched is skipped, as ggcr's layout writer does.
func (s *Store) writeOtherChild(ctx context.Context, idx v1.ImageIndex, child v1.Descriptor) error {
	if s.HasBlob(child.Digest) || child.MediaType == types.MediaType("") {
		return nil
	}
	blobber, ok := idx.(interface {
		Blob(v1.Hash) (io.ReadCloser, error)
	})
	if !ok {
		return nil
	}
	rc, err := blobber.Blob(child.Digest)
	if err != nil {
		return fmt.Errorf("reading %s %s: %w", child.MediaType, child.Digest, err)
	}
	defer rc.Close()
	if _, _, err := s.writeBlob(ctx, rc, child.Digest, child.Size); err != nil {
		return fmt.Errorf("writing %s %s: %w", child.MediaType, child.Digest, err)
	}
	return nil
}
