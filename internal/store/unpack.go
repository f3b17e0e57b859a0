package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/pkg/archive"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// shortLen is the length of the names under l/. Overlay mount data is
// limited to one page (4096 bytes), so lowerdir paths must be short: with
// "<root>/l/" plus 12 characters, more than a hundred layers fit.
const shortLen = 12

// UnpackedDir returns the short path (<root>/l/<short>) of the layer with
// diffID if it is unpacked, else ErrNotFound.
func (s *Store) UnpackedDir(diffID v1.Hash) (string, error) {
	if err := checkHash(diffID); err != nil {
		return "", err
	}
	short, err := os.ReadFile(filepath.Join(s.layerDir(diffID.Hex), "link"))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("unpacked layer %s: %w", diffID, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("reading link of layer %s: %w", diffID, err)
	}
	p := filepath.Join(s.root, dirLinks, strings.TrimSpace(string(short)))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("unpacked layer %s: link %s: %w", diffID, p, ErrNotFound)
	}
	return p, nil
}

// Unpack makes sure layer is unpacked in overlayfs form (whiteouts as 0/0
// character devices, opaque directories marked with the xattr
// trusted.overlay.opaque=y) and returns the short path to use as an overlay
// lower dir. Each diff ID is unpacked once: concurrent callers, in this or
// other processes, wait for the first and share its result. The directory
// must be treated as read-only. Unpacking needs root (mknod and trusted.*
// xattrs); rootless unpacking is not supported.
func (s *Store) Unpack(ctx context.Context, layer v1.Layer) (string, error) {
	diffID, err := layer.DiffID()
	if err != nil {
		return "", fmt.Errorf("reading layer diff id: %w", err)
	}
	if dir, err := s.UnpackedDir(diffID); err == nil {
		return dir, nil
	}
	return s.withLayerLock(ctx, diffID, func(dir string) (string, error) {
		tmp, err := s.TempDir("unpack-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		diff := filepath.Join(tmp, "diff")
		if err := os.Mkdir(diff, 0o755); err != nil {
			return "", fmt.Errorf("unpacking layer %s: %w", diffID, err)
		}
		if err := applyLayer(ctx, diff, layer, diffID); err != nil {
			return "", fmt.Errorf("unpacking layer %s: %w", diffID, err)
		}
		if err := os.Chmod(tmp, 0o755); err != nil {
			return "", fmt.Errorf("unpacking layer %s: %w", diffID, err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return "", fmt.Errorf("moving unpacked layer %s into place: %w", diffID, err)
		}
		return s.ensureLink(diffID)
	}, nil)
}

// AddUnpacked adopts dir, a directory already in overlayfs form (the upper
// dir of a finished, unmounted build step), as the unpacked layer diffID,
// by renaming it into the store; dir must be on the store's file system
// (make it under TempDir). If the layer is already unpacked, dir is removed.
// It returns the short path, as Unpack does.
func (s *Store) AddUnpacked(ctx context.Context, diffID v1.Hash, dir string) (string, error) {
	if err := checkHash(diffID); err != nil {
		return "", err
	}
	if short, err := s.UnpackedDir(diffID); err == nil {
		return short, removeAllNoMounts(dir)
	}
	return s.withLayerLock(ctx, diffID, func(layerDir string) (string, error) {
		tmp, err := s.TempDir("adopt-")
		if err != nil {
			return "", err
		}
		// Once dir is renamed in it belongs to the store, so a failure
		// below removes it with the rest of tmp.
		defer os.RemoveAll(tmp)
		if err := os.Chmod(tmp, 0o755); err != nil {
			return "", fmt.Errorf("adopting layer %s: %w", diffID, err)
		}
		if err := os.Rename(dir, filepath.Join(tmp, "diff")); err != nil {
			return "", fmt.Errorf("adopting %s as layer %s (it must be on the store's file system): %w", dir, diffID, err)
		}
		if err := os.Rename(tmp, layerDir); err != nil {
			return "", fmt.Errorf("moving layer %s into place: %w", diffID, err)
		}
		return s.ensureLink(diffID)
	}, func() error { return removeAllNoMounts(dir) })
}

// withLayerLock runs create under the store's shared lock and the per-layer
// lock of diffID, unless another caller unpacked the layer meanwhile (then
// onExisting, if not nil, runs instead). create gets layers/<hex>, which does
// not exist yet, to rename its result to.
func (s *Store) withLayerLock(ctx context.Context, diffID v1.Hash, create func(dir string) (string, error), onExisting func() error) (string, error) {
	storeLock, err := s.Shared(ctx)
	if err != nil {
		return "", err
	}
	defer storeLock.Unlock()
	layerLock, err := lockFile(ctx, s.layerLockPath(diffID.Hex), unix.LOCK_EX)
	if err != nil {
		return "", err
	}
	defer layerLock.Unlock()

	dir := s.layerDir(diffID.Hex)
	if _, err := os.Lstat(dir); err == nil {
		// Made by an earlier caller; the link may be missing if it crashed
		// between the rename and the link.
		short, err := s.ensureLink(diffID)
		if err != nil {
			return "", err
		}
		if onExisting != nil {
			if err := onExisting(); err != nil {
				return "", err
			}
		}
		return short, nil
	}
	return create(dir)
}

// applyLayer extracts layer into dir with overlayfs whiteouts and checks the
// uncompressed stream against diffID.
func applyLayer(ctx context.Context, dir string, layer v1.Layer, diffID v1.Hash) error {
	rc, err := uncompressed(layer)
	if err != nil {
		return fmt.Errorf("opening layer: %w", err)
	}
	defer rc.Close()
	digester := sha256.New()
	r := io.TeeReader(rc, digester)
	if _, err := archive.Apply(ctx, dir, r, archive.WithConvertWhiteout(archive.OverlayConvertWhiteout)); err != nil {
		if errors.Is(err, unix.EPERM) {
			// Device whiteouts, trusted.overlay.* xattrs and chown need
			// real root (CAP_SYS_ADMIN in the initial user namespace).
			return fmt.Errorf("applying layer (needs real root; rootless unpack is not supported): %w", err)
		}
		return fmt.Errorf("applying layer: %w", err)
	}
	// The tar reader stops at the end-of-archive marker; the padding after
	// it is part of what diffID hashes.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("reading layer: %w", err)
	}
	got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(digester.Sum(nil))}
	if got != diffID {
		return fmt.Errorf("layer content hashes to %s, want diff id %s: %w", got, diffID, ErrInvalid)
	}
	return nil
}

// ensureLink makes l/<short> point at layers/<hex>/diff and records the
// short name in layers/<hex>/link. The short name is the diff ID's first 12
// hex digits, lengthened only if another layer already has that name.
func (s *Store) ensureLink(diffID v1.Hash) (string, error) {
	if dir, err := s.UnpackedDir(diffID); err == nil {
		return dir, nil
	}
	target := filepath.Join("..", dirLayers, diffID.Hex, "diff")
	for n := shortLen; n <= len(diffID.Hex); n += 4 {
		short := diffID.Hex[:n]
		link := filepath.Join(s.root, dirLinks, short)
		err := os.Symlink(target, link)
		if errors.Is(err, os.ErrExist) {
			if got, rerr := os.Readlink(link); rerr != nil || got != target {
				continue // another layer's name
			}
			err = nil
		}
		if err != nil {
			return "", fmt.Errorf("linking layer %s: %w", diffID, err)
		}
		if err := s.writeFileAtomic(filepath.Join(s.layerDir(diffID.Hex), "link"), []byte(short)); err != nil {
			return "", fmt.Errorf("linking layer %s: %w", diffID, err)
		}
		return link, nil
	}
	return "", fmt.Errorf("linking layer %s: no free short name", diffID)
}

func (s *Store) layerDir(hex string) string { return filepath.Join(s.root, dirLayers, hex) }

// uncompressed opens the layer's tar stream, decompressing gzip and zstd
// blobs with klauspost/compress (about twice as fast as the standard
// library's gzip, which go-containerregistry uses).
func uncompressed(l v1.Layer) (io.ReadCloser, error) {
	mt, err := l.MediaType()
	if err != nil {
		return nil, err
	}
	if !isGzip(mt) && !isZstd(mt) {
		return l.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	return decompress(mt, rc)
}

func isGzip(mt types.MediaType) bool { return mt == types.DockerLayer || mt == types.OCILayer }
func isZstd(mt types.MediaType) bool { return mt == types.OCILayerZStd }

// decompress wraps rc, a blob of media type mt, in the matching
// decompressor; closing the result closes rc.
func decompress(mt types.MediaType, rc io.ReadCloser) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(rc, 1<<20)
	var zr io.ReadCloser
	switch {
	case isGzip(mt):
		g, err := kgzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, err
		}
		zr = g
	case isZstd(mt):
		d, err := zstd.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, err
		}
		zr = d.IOReadCloser()
	default:
		return rc, nil
	}
	return &stackedCloser{Reader: zr, closers: []io.Closer{zr, rc}}, nil
}

type stackedCloser struct {
	io.Reader
	closers []io.Closer
}

func (s *stackedCloser) Close() error {
	var first error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
