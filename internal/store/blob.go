package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BlobPath is where the blob h lives (or would live) in the store. h must be
// a valid sha256 hash; other hashes give a path that never exists.
func (s *Store) BlobPath(h v1.Hash) string {
	if checkHash(h) != nil {
		return filepath.Join(s.root, dirOCI, "blobs", "invalid")
	}
	return filepath.Join(s.root, dirOCI, "blobs", h.Algorithm, h.Hex)
}

// HasBlob reports whether the blob h is in the store.
func (s *Store) HasBlob(h v1.Hash) bool {
	if checkHash(h) != nil {
		return false
	}
	_, err := os.Lstat(s.BlobPath(h))
	return err == nil
}

// OpenBlob opens the blob h for reading; a missing blob is ErrNotFound.
func (s *Store) OpenBlob(h v1.Hash) (io.ReadCloser, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	f, err := os.Open(s.BlobPath(h))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", h, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", h, err)
	}
	return f, nil
}

// readBlob reads a whole (small) blob such as a manifest or config.
func (s *Store) readBlob(h v1.Hash) ([]byte, error) {
	rc, err := s.OpenBlob(h)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	return b, nil
}

// WriteBlob stores the content of r as a blob and returns its digest and
// size. When want is not the zero Hash the content must hash to it, and if
// that blob is already stored r is not read at all. The content becomes
// visible only once complete, synced and verified.
func (s *Store) WriteBlob(ctx context.Context, r io.Reader, want v1.Hash) (v1.Hash, int64, error) {
	lock, err := s.Shared(ctx)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	defer lock.Unlock()
	return s.writeBlob(ctx, r, want, -1)
}

// writeBlob is WriteBlob with an optional expected size (-1 when unknown),
// for callers that already hold the store lock.
func (s *Store) writeBlob(ctx context.Context, r io.Reader, want v1.Hash, wantSize int64) (v1.Hash, int64, error) {
	if want != (v1.Hash{}) {
		if err := checkHash(want); err != nil {
			return v1.Hash{}, 0, err
		}
		if info, err := os.Stat(s.BlobPath(want)); err == nil {
			return want, info.Size(), nil
		}
	}
	f, err := os.CreateTemp(filepath.Join(s.root, dirTmp), "ingest-*")
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("creating ingest file: %w", err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()

	digester := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, digester), ctxReader{ctx, r})
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("writing blob: %w", err)
	}
	got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(digester.Sum(nil))}
	if wantSize >= 0 && n != wantSize {
		return v1.Hash{}, 0, fmt.Errorf("writing blob %s: got %d bytes, want %d: %w", got, n, wantSize, ErrInvalid)
	}
	if want != (v1.Hash{}) && got != want {
		return v1.Hash{}, 0, fmt.Errorf("writing blob: content hashes to %s, want %s: %w", got, want, ErrInvalid)
	}
	if err := f.Sync(); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("syncing blob %s: %w", got, err)
	}
	if err := f.Close(); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("writing blob %s: %w", got, err)
	}
	if err := s.commitBlob(tmp, got); err != nil {
		return v1.Hash{}, 0, err
	}
	committed = true
	return got, n, nil
}

// IngestFile moves a file that the caller has already written, closed and
// hashed (to h) into the store as a blob, without reading it again: the fast
// path for layers made by the build. tmpPath must be on the store's file
// system (create it under TempDir). If the blob already exists the file is
// removed. The file is synced before it becomes visible.
func (s *Store) IngestFile(ctx context.Context, tmpPath string, h v1.Hash) error {
	if err := checkHash(h); err != nil {
		return err
	}
	lock, err := s.Shared(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	f, err := os.Open(tmpPath)
	if err != nil {
		return fmt.Errorf("ingesting %s: %w", h, err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("syncing %s: %w", tmpPath, err)
	}
	if err := s.commitBlob(tmpPath, h); err != nil {
		return err
	}
	return nil
}

// commitBlob makes the finished file tmp the blob h: read-only, renamed into
// blobs/, directory synced. An existing blob wins (same content by
// construction) and tmp is removed.
func (s *Store) commitBlob(tmp string, h v1.Hash) error {
	dst := s.BlobPath(h)
	if _, err := os.Lstat(dst); err == nil {
		os.Remove(tmp)
		return nil
	}
	if err := os.Chmod(tmp, 0o444); err != nil {
		return fmt.Errorf("committing blob %s: %w", h, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("committing blob %s (the file must be on the store's file system): %w", h, err)
	}
	// The blob is in place; a failed directory sync only weakens durability
	// across power loss, and undoing the rename could remove a blob another
	// writer relies on, so report it without rollback.
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("committing blob %s: %w", h, err)
	}
	return nil
}

// checkHash accepts only well-formed sha256 hashes, the one algorithm the
// store writes; it also keeps hashes from naming paths outside blobs/.
func checkHash(h v1.Hash) error {
	if h.Algorithm != "sha256" || len(h.Hex) != 64 {
		return fmt.Errorf("digest %q: only sha256 digests are supported: %w", h.String(), ErrInvalid)
	}
	for _, c := range h.Hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("digest %q: not lower-case hex: %w", h.String(), ErrInvalid)
		}
	}
	return nil
}

// ctxReader stops a long copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
