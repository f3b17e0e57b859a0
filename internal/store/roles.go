package store

import (
	"context"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The role interfaces below each name one thing a caller does with the
// store, so that functions can ask for the least they need (and tests can
// pass something smaller than a whole Store).

// BlobReader reads stored blobs.
type BlobReader interface {
	HasBlob(h v1.Hash) bool
	OpenBlob(h v1.Hash) (io.ReadCloser, error)
	BlobPath(h v1.Hash) string
}

// BlobWriter adds blobs.
type BlobWriter interface {
	WriteBlob(ctx context.Context, r io.Reader, want v1.Hash) (v1.Hash, int64, error)
	IngestFile(ctx context.Context, tmpPath string, h v1.Hash) error
	TempDir(prefix string) (string, error)
}

// ImageReader finds stored images.
type ImageReader interface {
	Image(ctx context.Context, refOrID string) (v1.Image, v1.Hash, error)
	ImageForPlatform(ctx context.Context, refOrID string, platform v1.Platform) (v1.Image, v1.Hash, error)
}

// ImageWriter stores images and indexes under tags.
type ImageWriter interface {
	PutImage(ctx context.Context, img v1.Image, tags ...string) (v1.Hash, error)
	PutIndex(ctx context.Context, idx v1.ImageIndex, tags ...string) (v1.Hash, error)
}

// Tagger manages tags.
type Tagger interface {
	Tag(ctx context.Context, src, newRef string) error
	Untag(ctx context.Context, ref string) error
	Remove(ctx context.Context, refOrID string) (Removed, error)
	List(ctx context.Context) ([]ImageInfo, error)
}

// LayerUnpacker provides layers in overlayfs form for use as lower dirs.
type LayerUnpacker interface {
	Unpack(ctx context.Context, layer v1.Layer) (string, error)
	AddUnpacked(ctx context.Context, diffID v1.Hash, dir string) (string, error)
	UnpackedDir(diffID v1.Hash) (string, error)
	TempDir(prefix string) (string, error)
}

var (
	_ BlobReader    = (*Store)(nil)
	_ BlobWriter    = (*Store)(nil)
	_ ImageReader   = (*Store)(nil)
	_ ImageWriter   = (*Store)(nil)
	_ Tagger        = (*Store)(nil)
	_ LayerUnpacker = (*Store)(nil)
)
