package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// dirCache holds the step cache: records/<key hex>.json, one per cached
// step, and context/<hex>.json, per-context file digests and the inputs
// of the last build (to explain misses).
const dirCache = "cachedb"

// CacheRecord is what a cached step produced: the layer it wrote (nil for a
// step that changed no file) and its history entry. GC keeps the blobs and
// unpacked layers records refer to.
type CacheRecord struct {
	Layer     *CachedLayer `json:"layer,omitempty"`
	Created   time.Time    `json:"created"`
	CreatedBy string       `json:"createdBy"`
	Comment   string       `json:"comment,omitempty"`
}

// CachedLayer describes a layer blob in the store.
type CachedLayer struct {
	Digest    v1.Hash         `json:"digest"`
	DiffID    v1.Hash         `json:"diffID"`
	Size      int64           `json:"size"`
	MediaType types.MediaType `json:"mediaType"`
}

func (s *Store) recordPath(key string) (string, error) {
	hex := strings.TrimPrefix(key, "sha256:")
	if len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w: cache key %q", ErrInvalid, key)
	}
	return filepath.Join(s.root, dirCache, "records", hex+".json"), nil
}

// PutCacheRecord stores rec under key (a "sha256:…" digest), atomically.
func (s *Store) PutCacheRecord(ctx context.Context, key string, rec CacheRecord) error {
	p, err := s.recordPath(key)
	if err != nil {
		return err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return s.writeFileAtomic(p, data)
}

// CacheRecord returns the record under key; ok is false when there is none
// or when its layer blob is gone (a record is only as good as its blob).
// A hit refreshes the record's time, which prune uses as last use.
func (s *Store) CacheRecord(key string) (rec CacheRecord, ok bool, err error) {
	p, err := s.recordPath(key)
	if err != nil {
		return rec, false, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("reading cache record: %w", err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		// A damaged record is a miss, not a failed build; it is replaced
		// when the step runs again.
		return rec, false, nil
	}
	if rec.Layer != nil && !s.HasBlob(rec.Layer.Digest) {
		return rec, false, nil
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return rec, true, nil
}

// ContextFile is a path for per-context cache data (file digests, last
// inputs), named by the hex digest of what it is about.
func (s *Store) ContextFile(hex string) string {
	return filepath.Join(s.root, dirCache, "context", hex+".json")
}

// WriteFileAtomic writes data to path (inside the store) via a temp file
// and a rename, so readers see the old or the new content, never a part.
func (s *Store) WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return s.writeFileAtomic(path, data)
}

// PruneCache removes cache records last used before cutoff (all of them
// for a zero cutoff) and returns how many it removed. Blobs they kept
// alive are freed by the next GC.
func (s *Store) PruneCache(ctx context.Context, cutoff time.Time) (int, error) {
	dir := filepath.Join(s.root, dirCache, "records")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if !cutoff.IsZero() {
			fi, err := e.Info()
			if err != nil || fi.ModTime().After(cutoff) {
				continue
			}
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}

// markCache adds what cache records refer to.
func (s *Store) markCache(ctx context.Context, blobs, diffIDs map[string]bool) error {
	dir := filepath.Join(s.root, dirCache, "records")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		var rec CacheRecord
		if json.Unmarshal(data, &rec) != nil || rec.Layer == nil {
			continue
		}
		blobs[rec.Layer.Digest.Hex] = true
		diffIDs[rec.Layer.DiffID.Hex] = true
	}
	return nil
}
