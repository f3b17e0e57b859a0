package layer

import (
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// compressor opens a compressing writer for one blob.
type compressor struct {
	name      Compression
	mediaType types.MediaType
	open      func(w io.Writer) (io.WriteCloser, error)
}

func newCompressor(opts Options) (compressor, error) {
	switch opts.Compression {
	case "", Gzip:
		level := opts.Level
		if level == 0 {
			level = gzip.DefaultCompression
		}
		if level < gzip.StatelessCompression || level > gzip.BestCompression {
			return compressor{}, fmt.Errorf("gzip level %d out of range (%d..%d)", opts.Level, gzip.StatelessCompression, gzip.BestCompression)
		}
		return compressor{name: Gzip, mediaType: types.OCILayer, open: func(w io.Writer) (io.WriteCloser, error) {
			// The header carries no name and a zero mtime, so the
			// blob depends on the tar alone.
			return gzip.NewWriterLevel(w, level)
		}}, nil
	case Zstd:
		if opts.Level < 0 || opts.Level > 22 {
			return compressor{}, fmt.Errorf("zstd level %d out of range (1..22)", opts.Level)
		}
		eopts := []zstd.EOption{
			// One encoder goroutine: Write already runs compression
			// beside the tar walk, and a single stream encoder keeps the
			// output independent of GOMAXPROCS.
			zstd.WithEncoderConcurrency(1),
		}
		if opts.Level != 0 {
			eopts = append(eopts, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(opts.Level)))
		}
		return compressor{name: Zstd, mediaType: types.OCILayerZStd, open: func(w io.Writer) (io.WriteCloser, error) {
			return zstd.NewWriter(w, eopts...)
		}}, nil
	case None:
		if opts.Level != 0 {
			return compressor{}, fmt.Errorf("compression level %d given with no compression", opts.Level)
		}
		return compressor{name: None, mediaType: types.OCIUncompressedLayer, open: func(w io.Writer) (io.WriteCloser, error) {
			return nopCloser{w}, nil
		}}, nil
	default:
		return compressor{}, fmt.Errorf("unsupported layer compression %q (want gzip, zstd or none)", opts.Compression)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
