package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// GCResult reports what GC removed.
type GCResult struct {
	Blobs     int   // blobs removed
	BlobBytes int64 // their total size
	Layers    int   // unpacked layers removed
	TempFiles int   // entries of tmp/ removed
}

// GC removes every blob and unpacked layer that no entry of index.json
// (through indexes, manifests, configs and their diff IDs) and no cache
// record reaches, and all
// of tmp/ except directories holding a mount. It takes the store lock
// exclusively, so it waits for running builds (which hold it shared) and
// never removes what they have made but not yet tagged.
func (s *Store) GC(ctx context.Context) (GCResult, error) {
	var res GCResult
	lock, err := s.Exclusive(ctx)
	if err != nil {
		return res, err
	}
	defer lock.Unlock()

	blobs, diffIDs, err := s.mark(ctx)
	if err != nil {
		return res, fmt.Errorf("collecting garbage: %w", err)
	}
	if err := s.sweepBlobs(ctx, blobs, &res); err != nil {
		return res, fmt.Errorf("collecting garbage: %w", err)
	}
	if err := s.sweepLayers(ctx, diffIDs, &res); err != nil {
		return res, fmt.Errorf("collecting garbage: %w", err)
	}
	n, err := s.cleanTmp(time.Time{})
	res.TempFiles = n
	if err != nil {
		return res, fmt.Errorf("collecting garbage: %w", err)
	}
	return res, nil
}

// mark walks from the index entries and returns the reachable blob hexes
// and the diff ID hexes of reachable images. Blobs missing from the store
// (platforms of an index that were never pulled) are skipped.
func (s *Store) mark(ctx context.Context) (blobs, diffIDs map[string]bool, err error) {
	return s.markFrom(ctx, true)
}

// markFrom marks from the index and, with cache, from cache records too.
func (s *Store) markFrom(ctx context.Context, cache bool) (blobs, diffIDs map[string]bool, err error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, nil, err
	}
	blobs, diffIDs = map[string]bool{}, map[string]bool{}
	var walk func(d v1.Descriptor) error
	walk = func(d v1.Descriptor) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if blobs[d.Digest.Hex] || checkHash(d.Digest) != nil || !s.HasBlob(d.Digest) {
			return nil
		}
		blobs[d.Digest.Hex] = true
		switch {
		case d.MediaType.IsIndex():
			x, err := s.loadIndex(d.Digest)
			if err != nil {
				return err
			}
			for _, c := range x.manifest.Manifests {
				if err := walk(c); err != nil {
					return err
				}
			}
		case d.MediaType.IsImage():
			img, err := s.loadImage(d.Digest)
			if err != nil {
				return err
			}
			m, err := img.Manifest()
			if err != nil {
				return fmt.Errorf("reading manifest %s: %w", d.Digest, err)
			}
			blobs[m.Config.Digest.Hex] = true
			for _, l := range m.Layers {
				blobs[l.Digest.Hex] = true
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				// Keep the image's blobs but do not guess its layers; an
				// unreadable config is reported rather than hidden.
				return fmt.Errorf("reading config of %s: %w", d.Digest, err)
			}
			for _, id := range cfg.RootFS.DiffIDs {
				diffIDs[id.Hex] = true
			}
		}
		return nil
	}
	for _, e := range idx.Manifests {
		if err := walk(e); err != nil {
			return nil, nil, err
		}
	}
	if !cache {
		return blobs, diffIDs, nil
	}
	if err := s.markCache(ctx, blobs, diffIDs); err != nil {
		return nil, nil, err
	}
	return blobs, diffIDs, nil
}

func (s *Store) sweepBlobs(ctx context.Context, keep map[string]bool, res *GCResult) error {
	dir := filepath.Join(s.root, dirOCI, "blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading blobs: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if keep[e.Name()] {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing blob %s: %w", e.Name(), err)
		}
		res.Blobs++
		res.BlobBytes += info.Size()
	}
	return nil
}

// sweepLayers removes unpacked layers whose diff ID no image uses, then
// short links that point nowhere and lock files of removed layers.
func (s *Store) sweepLayers(ctx context.Context, keep map[string]bool, res *GCResult) error {
	layers, err := os.ReadDir(filepath.Join(s.root, dirLayers))
	if err != nil {
		return fmt.Errorf("reading layers: %w", err)
	}
	for _, e := range layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		if keep[e.Name()] {
			continue
		}
		if err := removeAllNoMounts(s.layerDir(e.Name())); err != nil {
			return err
		}
		res.Layers++
	}
	links, err := os.ReadDir(filepath.Join(s.root, dirLinks))
	if err != nil {
		return fmt.Errorf("reading links: %w", err)
	}
	for _, e := range links {
		link := filepath.Join(s.root, dirLinks, e.Name())
		if _, err := os.Stat(link); errors.Is(err, os.ErrNotExist) {
			if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("removing link %s: %w", e.Name(), err)
			}
		}
	}
	locks, err := os.ReadDir(filepath.Join(s.root, dirLocks))
	if err != nil {
		return fmt.Errorf("reading locks: %w", err)
	}
	for _, e := range locks {
		hex, ok := strings.CutPrefix(e.Name(), "layer-")
		hex, ok2 := strings.CutSuffix(hex, ".lock")
		if !ok || !ok2 {
			continue
		}
		// Every unpack holds the store lock shared, so under the exclusive
		// lock no one has these open.
		if _, err := os.Lstat(s.layerDir(hex)); errors.Is(err, os.ErrNotExist) {
			os.Remove(filepath.Join(s.root, dirLocks, e.Name()))
		}
	}
	return nil
}
