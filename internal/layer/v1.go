package layer

import (
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ToV1 returns a go-containerregistry layer for the blob at path described
// by d. The blob's bytes are served as they are, and the digests and sizes
// come from d, so mutate.Append neither recompresses nor rehashes it. The
// file is opened on each read; it must stay in place while the layer is
// used.
func ToV1(d Descriptor, path string) (v1.Layer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("opening layer blob: %w", err)
	}
	if st.Size() != d.Size {
		return nil, fmt.Errorf("layer blob %s has %d bytes, its descriptor says %d", path, st.Size(), d.Size)
	}
	l, err := partial.CompressedToLayer(&fileLayer{d: d, path: path})
	if err != nil {
		return nil, err
	}
	return &v1Layer{Layer: l, d: d}, nil
}

// fileLayer is the minimal compressed core that partial extends; it
// implements WithDiffID so the extension never decompresses to hash.
type fileLayer struct {
	d    Descriptor
	path string
}

var _ partial.CompressedLayer = (*fileLayer)(nil)
var _ partial.WithDiffID = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.d.Digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.d.DiffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.d.Size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.d.MediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

// v1Layer adds the UncompressedSize capability, which the extension hides.
type v1Layer struct {
	v1.Layer
	d Descriptor
}

var _ v1.Layer = (*v1Layer)(nil)

// UncompressedSize implements partial's withUncompressedSize capability.
func (l *v1Layer) UncompressedSize() (int64, error) { return l.d.UncompressedSize, nil }
