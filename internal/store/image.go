package store

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// storeImage is the compressed core of an image whose blobs are in the
// store; partial.CompressedToImage derives the rest of v1.Image from it.
type storeImage struct {
	s        *Store
	raw      []byte
	mt       types.MediaType
	manifest *v1.Manifest

	diffOnce sync.Once
	diffIDs  []v1.Hash // from the config, so layers need not be re-hashed
}

var _ partial.CompressedImageCore = (*storeImage)(nil)

// loadImage reads the image manifest h from the store.
func (s *Store) loadImage(h v1.Hash) (v1.Image, error) {
	raw, err := s.readBlob(h)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", h, err)
	}
	mt := m.MediaType
	if mt == "" {
		// Old OCI manifests may omit the field; the layout requires OCI.
		mt = types.OCIManifestSchema1
	}
	if !mt.IsImage() {
		return nil, fmt.Errorf("manifest %s has media type %s: %w", h, mt, ErrNotImage)
	}
	return partial.CompressedToImage(&storeImage{s: s, raw: raw, mt: mt, manifest: m})
}

func (i *storeImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *storeImage) MediaType() (types.MediaType, error) { return i.mt, nil }
func (i *storeImage) RawConfigFile() ([]byte, error)      { return i.s.readBlob(i.manifest.Config.Digest) }

func (i *storeImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == i.manifest.Config.Digest {
		return &storeBlob{s: i.s, desc: i.manifest.Config}, nil
	}
	for n, d := range i.manifest.Layers {
		if d.Digest == h {
			b := &storeBlob{s: i.s, desc: d}
			if ids := i.configDiffIDs(); len(ids) == len(i.manifest.Layers) {
				b.diffID = ids[n]
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("layer %s is not in this image: %w", h, ErrNotFound)
}

// configDiffIDs reads the diff IDs the config lists, once; nil when the
// config cannot be read (layers then hash themselves).
func (i *storeImage) configDiffIDs() []v1.Hash {
	i.diffOnce.Do(func() {
		raw, err := i.RawConfigFile()
		if err != nil {
			return
		}
		cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
		if err != nil {
			return
		}
		i.diffIDs = cfg.RootFS.DiffIDs
	})
	return i.diffIDs
}

// storeBlob is a layer (or config) blob described by a manifest.
type storeBlob struct {
	s      *Store
	desc   v1.Descriptor
	diffID v1.Hash // zero when unknown
}

// DiffID returns the diff ID the image config records, so asking for it
// does not decompress and hash the layer. Unpack still verifies the
// content against it.
func (b *storeBlob) DiffID() (v1.Hash, error) {
	if b.diffID == (v1.Hash{}) {
		rc, err := b.Compressed()
		if err != nil {
			return v1.Hash{}, err
		}
		zr, err := decompress(b.desc.MediaType, rc)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("layer %s: %w", b.desc.Digest, err)
		}
		defer zr.Close()
		h, _, err := v1.SHA256(zr)
		return h, err
	}
	return b.diffID, nil
}

func (b *storeBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *storeBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *storeBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *storeBlob) Descriptor() (*v1.Descriptor, error) { d := b.desc; return &d, nil }
func (b *storeBlob) Compressed() (io.ReadCloser, error)  { return b.s.OpenBlob(b.desc.Digest) }
func (b *storeBlob) Exists() (bool, error)               { return b.s.HasBlob(b.desc.Digest), nil }

// storeIndex is an image index whose manifest is in the store.
type storeIndex struct {
	s        *Store
	raw      []byte
	digest   v1.Hash
	mt       types.MediaType
	manifest *v1.IndexManifest
}

var _ v1.ImageIndex = (*storeIndex)(nil)

// loadIndex reads the index manifest h from the store.
func (s *Store) loadIndex(h v1.Hash) (*storeIndex, error) {
	raw, err := s.readBlob(h)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing index %s: %w", h, err)
	}
	mt := m.MediaType
	if mt == "" {
		mt = types.OCIImageIndex
	}
	if !mt.IsIndex() {
		return nil, fmt.Errorf("manifest %s has media type %s: %w", h, mt, ErrNotImage)
	}
	return &storeIndex{s: s, raw: raw, digest: h, mt: mt, manifest: m}, nil
}

func (x *storeIndex) MediaType() (types.MediaType, error) { return x.mt, nil }
func (x *storeIndex) Digest() (v1.Hash, error)            { return x.digest, nil }
func (x *storeIndex) Size() (int64, error)                { return int64(len(x.raw)), nil }
func (x *storeIndex) RawManifest() ([]byte, error)        { return x.raw, nil }

func (x *storeIndex) IndexManifest() (*v1.IndexManifest, error) {
	// Hand out a copy so callers cannot change what Digest describes.
	return v1.ParseIndexManifest(bytes.NewReader(x.raw))
}

func (x *storeIndex) Image(h v1.Hash) (v1.Image, error) {
	if !x.has(h) {
		return nil, fmt.Errorf("image %s is not in index %s: %w", h, x.digest, ErrNotFound)
	}
	return x.s.loadImage(h)
}

func (x *storeIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	if !x.has(h) {
		return nil, fmt.Errorf("index %s is not in index %s: %w", h, x.digest, ErrNotFound)
	}
	return x.s.loadIndex(h)
}

func (x *storeIndex) has(h v1.Hash) bool {
	for _, d := range x.manifest.Manifests {
		if d.Digest == h {
			return true
		}
	}
	return false
}
