package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// Usage is the disk space the store uses, by kind. Sizes are bytes
// allocated on disk (hard-linked files counted once).
type Usage struct {
	// Images is the size of blobs (manifests, configs, compressed layers)
	// images in index.json reach; ImageCount how many images there are.
	Images     int64 `json:"images"`
	ImageCount int   `json:"imageCount"`
	// CacheOnly is the size of blobs only cache records keep alive;
	// CacheRecords how many records there are.
	CacheOnly    int64 `json:"cacheOnly"`
	CacheRecords int   `json:"cacheRecords"`
	// Unreferenced is blob space nothing refers to (freed by GC).
	Unreferenced int64 `json:"unreferenced"`
	// Layers is the size of unpacked layers (overlay lower dirs).
	Layers int64 `json:"layers"`
	// CacheMounts is the size of RUN --mount=type=cache directories.
	CacheMounts int64 `json:"cacheMounts"`
	// Other is everything else (temp files, snapshots, cache metadata).
	Other int64 `json:"other"`
	Total int64 `json:"total"`
}

// DiskUsage measures the store. cacheMountDir is where the worker keeps
// cache mounts ("" if none).
func (s *Store) DiskUsage(ctx context.Context, cacheMountDir string) (Usage, error) {
	var u Usage
	lock, err := s.Shared(ctx)
	if err != nil {
		return u, err
	}
	defer lock.Unlock()
	imgBlobs, _, err := s.markImages(ctx)
	if err != nil {
		return u, err
	}
	all, _, err := s.mark(ctx)
	if err != nil {
		return u, err
	}
	idx, err := s.readIndex()
	if err != nil {
		return u, err
	}
	seen := map[string]bool{}
	for _, m := range idx.Manifests {
		if !seen[m.Digest.Hex] {
			seen[m.Digest.Hex] = true
			u.ImageCount++
		}
	}
	blobDir := filepath.Join(s.root, dirOCI, "blobs", "sha256")
	entries, err := os.ReadDir(blobDir)
	if err != nil {
		return u, err
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		switch n := allocated(fi); {
		case imgBlobs[e.Name()]:
			u.Images += n
		case all[e.Name()]:
			u.CacheOnly += n
		default:
			u.Unreferenced += n
		}
	}
	records, _ := os.ReadDir(filepath.Join(s.root, dirCache, "records"))
	u.CacheRecords = len(records)
	if u.Layers, err = dirSize(ctx, filepath.Join(s.root, dirLayers)); err != nil {
		return u, err
	}
	if cacheMountDir != "" {
		if u.CacheMounts, err = dirSize(ctx, cacheMountDir); err != nil {
			return u, err
		}
	}
	total, err := dirSize(ctx, s.root)
	if err != nil {
		return u, err
	}
	u.Total = total
	if rel, err := filepath.Rel(s.root, cacheMountDir); err != nil || len(rel) > 1 && rel[:2] == ".." {
		u.Total += u.CacheMounts // kept outside the root
	}
	u.Other = u.Total - u.Images - u.CacheOnly - u.Unreferenced - u.Layers - u.CacheMounts
	if u.Other < 0 {
		u.Other = 0
	}
	return u, nil
}

// markImages is mark without cache records: what images alone reach.
func (s *Store) markImages(ctx context.Context) (blobs, diffIDs map[string]bool, err error) {
	return s.markFrom(ctx, false)
}

func allocated(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// dirSize is the allocated size of everything under dir, counting hard
// links once; a missing dir is empty.
func dirSize(ctx context.Context, dir string) (int64, error) {
	var total int64
	type ino struct{ dev, ino uint64 }
	seen := map[ino]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 && !fi.IsDir() {
			k := ino{uint64(st.Dev), st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		total += allocated(fi)
		return nil
	})
	return total, err
}

// PruneOptions say what Prune removes.
type PruneOptions struct {
	// Until removes cache records last used longer ago than this; 0 means
	// all of them.
	Until time.Duration
	// KeepStorage, when > 0, removes cache records least recently used
	// first only until the store is at most this many bytes (instead of by
	// age).
	KeepStorage int64
	// Untagged also removes images without a tag.
	Untagged bool
}

// PruneResult says what Prune did.
type PruneResult struct {
	Records  int
	Images   int
	GC       GCResult
	Reclaim  int64
	Remains  int64
	Exceeded bool // KeepStorage could not be reached by removing cache
}

// Prune removes cache records (by age, or least recently used first down
// to a size) and, optionally, untagged images, then collects garbage.
func (s *Store) Prune(ctx context.Context, opts PruneOptions) (PruneResult, error) {
	var res PruneResult
	before, err := dirSize(ctx, s.root)
	if err != nil {
		return res, err
	}
	if opts.Untagged {
		list, err := s.List(ctx)
		if err != nil {
			return res, err
		}
		for _, im := range list {
			if len(im.Tags) == 0 {
				if _, err := s.Remove(ctx, im.Digest.String()); err == nil {
					res.Images++
				}
			}
		}
	}
	if opts.KeepStorage > 0 {
		n, exceeded, err := s.pruneToSize(ctx, opts.KeepStorage)
		res.Records, res.Exceeded = n, exceeded
		if err != nil {
			return res, err
		}
	} else {
		cutoff := time.Time{}
		if opts.Until > 0 {
			cutoff = time.Now().Add(-opts.Until)
		}
		if res.Records, err = s.PruneCache(ctx, cutoff); err != nil {
			return res, err
		}
	}
	if res.GC, err = s.GC(ctx); err != nil {
		return res, err
	}
	after, err := dirSize(ctx, s.root)
	if err != nil {
		return res, err
	}
	res.Reclaim, res.Remains = before-after, after
	return res, nil
}

// pruneToSize removes the least recently used records, a batch at a time,
// collecting garbage after each, until the store fits in limit.
func (s *Store) pruneToSize(ctx context.Context, limit int64) (removed int, exceeded bool, err error) {
	dir := filepath.Join(s.root, dirCache, "records")
	for {
		size, err := dirSize(ctx, s.root)
		if err != nil {
			return removed, false, err
		}
		if size <= limit {
			return removed, false, nil
		}
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, false, err
		}
		if len(entries) == 0 {
			return removed, true, nil
		}
		type rec struct {
			name string
			used time.Time
		}
		var recs []rec
		for _, e := range entries {
			if fi, err := e.Info(); err == nil {
				recs = append(recs, rec{e.Name(), fi.ModTime()})
			}
		}
		sort.Slice(recs, func(i, j int) bool { return recs[i].used.Before(recs[j].used) })
		batch := len(recs)/10 + 1
		for _, r := range recs[:batch] {
			if os.Remove(filepath.Join(dir, r.name)) == nil {
				removed++
			}
		}
		if _, err := s.GC(ctx); err != nil {
			return removed, false, err
		}
	}
}
