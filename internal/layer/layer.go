package layer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Compression names how a layer blob is compressed.
type Compression string

const (
	// Gzip is the default: every OCI and Docker client can pull it.
	Gzip Compression = "gzip"
	// Zstd gives smaller blobs and much faster decompression, but needs
	// Docker >= 23 or containerd >= 1.5 on the pulling side.
	Zstd Compression = "zstd"
	// None stores the tar as-is; the digest then equals the diff_id.
	None Compression = "none"
)

// Options control how a layer is written. The zero value writes gzip at the
// default level with the files' own modification times.
type Options struct {
	// Compression is the blob's compression; "" means Gzip.
	Compression Compression
	// SourceDateEpoch, when set, clamps every modification time in the tar
	// to at most this time, so rebuilding the same content gives the same
	// digest (https://reproducible-builds.org/specs/source-date-epoch/).
	SourceDateEpoch *time.Time
	// Level is the codec's level: gzip -3..9 (klauspost/compress levels),
	// zstd 1..22; 0 means the codec's default. It must be 0 for None.
	Level int
}

// Descriptor describes a written layer blob.
type Descriptor struct {
	// DiffID is the sha256 of the uncompressed tar.
	DiffID v1.Hash
	// Digest is the sha256 of the blob as written (compressed).
	Digest v1.Hash
	// Size is the blob's size in bytes (compressed).
	Size int64
	// UncompressedSize is the tar's size in bytes.
	UncompressedSize int64
	// MediaType is the OCI layer media type matching the compression.
	MediaType types.MediaType
}

// Write streams the changes recorded in upperDir (an overlayfs upper
// directory, or any directory holding overlay-format whiteouts) to dst as a
// layer blob and returns its descriptor. The tar is produced on the calling
// goroutine while compression runs on another, so both cores are used.
// upperDir must not be in use by a mounted overlay while it is read.
func Write(ctx context.Context, upperDir string, dst io.Writer, opts Options) (Descriptor, error) {
	comp, err := newCompressor(opts)
	if err != nil {
		return Descriptor{}, err
	}
	digestH := sha256.New()
	blob := &countingWriter{w: io.MultiWriter(dst, digestH)}
	cw, err := comp.open(blob)
	if err != nil {
		return Descriptor{}, fmt.Errorf("starting %s compressor: %w", comp.name, err)
	}
	// The compressor and the digest hash run on their own goroutine.
	aw := newAsyncWriter(cw)
	diffH := sha256.New()
	tarOut := &countingWriter{w: io.MultiWriter(diffH, aw)}

	werr := writeTar(ctx, upperDir, tarOut, opts.SourceDateEpoch)
	cerr := aw.Close()
	if werr != nil {
		return Descriptor{}, werr
	}
	if cerr != nil {
		return Descriptor{}, fmt.Errorf("compressing layer: %w", cerr)
	}
	return Descriptor{
		DiffID:           sum(diffH),
		Digest:           sum(digestH),
		Size:             blob.n,
		UncompressedSize: tarOut.n,
		MediaType:        comp.mediaType,
	}, nil
}

// WriteFile writes the layer blob to dstPath: it writes a temporary file in
// the same directory, fsyncs it and renames it to dstPath, so dstPath is
// either absent or complete. The caller moves it into its store by digest.
func WriteFile(ctx context.Context, upperDir, dstPath string, opts Options) (_ Descriptor, err error) {
	f, err := os.CreateTemp(filepath.Dir(dstPath), "."+filepath.Base(dstPath)+".tmp-*")
	if err != nil {
		return Descriptor{}, fmt.Errorf("creating layer file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	d, err := Write(ctx, upperDir, f, opts)
	if err != nil {
		return Descriptor{}, err
	}
	if err := f.Sync(); err != nil {
		return Descriptor{}, fmt.Errorf("syncing layer file: %w", err)
	}
	if err := f.Close(); err != nil {
		return Descriptor{}, fmt.Errorf("closing layer file: %w", err)
	}
	if err := os.Rename(f.Name(), dstPath); err != nil {
		return Descriptor{}, fmt.Errorf("renaming layer file: %w", err)
	}
	return d, nil
}

// IsEmpty reports whether upperDir records no change at all, in which case
// a build step needs no layer.
func IsEmpty(upperDir string) (bool, error) {
	f, err := os.Open(upperDir)
	if err != nil {
		return false, fmt.Errorf("reading upper dir: %w", err)
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading upper dir: %w", err)
	}
	return false, nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
