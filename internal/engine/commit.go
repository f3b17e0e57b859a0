package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/internal/layer"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/worker/linux"
	"github.com/zbuild/zbuild/plan"
)

// prepare mounts a snapshot over sr's layer chain, unpacking the layers it
// needs first (layers reused from the cache or a base are unpacked only
// when a step actually has to run on them).
func (b *build) prepare(ctx context.Context, sr *stageResult) (*linux.Snapshot, error) {
	if err := b.unpack(ctx, sr); err != nil {
		return nil, err
	}
	snap, err := b.e.worker.Prepare(ctx, sr.lowers())
	if err != nil {
		return nil, fmt.Errorf("preparing a snapshot: %w", err)
	}
	return snap, nil
}

// commit turns what the step changed in snap into a layer on sr, or into an
// empty_layer history entry when it changed nothing. snap is consumed: it
// is removed whatever happens, and its upper dir, when it becomes a layer,
// moves into the store as that layer's unpacked form, so the next step
// mounts it directly without unpacking anything.
func (b *build) commit(ctx context.Context, sr *stageResult, snap *linux.Snapshot, step *plan.Step, key string) (int64, error) {
	defer snap.Remove()
	if err := snap.Unmount(); err != nil {
		return 0, fmt.Errorf("unmounting the snapshot: %w", err)
	}
	empty, err := layer.IsEmpty(snap.Upper)
	if err != nil {
		return 0, err
	}
	if empty {
		h := sr.addHistory(step, true, b.created())
		b.record(ctx, sr, key, store.CacheRecord{Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment})
		return 0, nil
	}
	tmpDir, err := b.e.store.TempDir("layer")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmpDir)
	blob := filepath.Join(tmpDir, "blob")
	desc, err := layer.WriteFile(ctx, snap.Upper, blob, layer.Options{Compression: b.req.Compression, SourceDateEpoch: b.req.SourceDateEpoch})
	if err != nil {
		return 0, fmt.Errorf("writing the layer: %w", err)
	}
	if err := b.e.store.IngestFile(ctx, blob, desc.Digest); err != nil {
		return 0, fmt.Errorf("storing the layer: %w", err)
	}
	dir, err := b.e.store.AddUnpacked(ctx, desc.DiffID, snap.Upper)
	if err != nil {
		return 0, fmt.Errorf("keeping the layer's files: %w", err)
	}
	l, err := layer.ToV1(desc, b.e.store.BlobPath(desc.Digest))
	if err != nil {
		return 0, err
	}
	sr.layers = append(sr.layers, layerRef{dir: dir, layer: l, diffID: desc.DiffID})
	sr.cfg.RootFS.Type = "layers"
	sr.cfg.RootFS.DiffIDs = append(sr.cfg.RootFS.DiffIDs, desc.DiffID)
	h := sr.addHistory(step, false, b.created())
	b.record(ctx, sr, key, store.CacheRecord{
		Layer:   &store.CachedLayer{Digest: desc.Digest, DiffID: desc.DiffID, Size: desc.Size, MediaType: desc.MediaType},
		Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment,
	})
	return desc.Size, nil
}

// record stores a step's cache record. Failing to record only costs a
// future hit, so it is logged, not fatal.
func (b *build) record(ctx context.Context, sr *stageResult, key string, rec store.CacheRecord) {
	if key == "" {
		return
	}
	b.noteUsed(sr, key, rec)
	if err := b.e.store.PutCacheRecord(ctx, key, rec); err != nil {
		slog.Warn("recording a cache entry", "err", err)
	}
}

// noteUsed remembers a record the build used or wrote, for --cache-to.
func (b *build) noteUsed(sr *stageResult, key string, rec store.CacheRecord) {
	b.mu.Lock()
	b.used = append(b.used, CacheEntry{Stage: sr.index, Key: key, Record: rec})
	b.mu.Unlock()
}

// reuse applies a cache hit: the recorded layer (its blob is in the store;
// nothing is unpacked, run or compressed) and history entry.
func (b *build) reuse(sr *stageResult, rec store.CacheRecord) (int64, error) {
	h := v1.History{Created: v1.Time{Time: rec.Created}, CreatedBy: rec.CreatedBy, Comment: rec.Comment, EmptyLayer: rec.Layer == nil}
	sr.cfg.History = append(sr.cfg.History, h)
	if rec.Layer == nil {
		return 0, nil
	}
	l, err := layer.ToV1(layer.Descriptor{Digest: rec.Layer.Digest, DiffID: rec.Layer.DiffID, Size: rec.Layer.Size, MediaType: rec.Layer.MediaType}, b.e.store.BlobPath(rec.Layer.Digest))
	if err != nil {
		return 0, err
	}
	sr.layers = append(sr.layers, layerRef{layer: l, diffID: rec.Layer.DiffID})
	sr.cfg.RootFS.Type = "layers"
	sr.cfg.RootFS.DiffIDs = append(sr.cfg.RootFS.DiffIDs, rec.Layer.DiffID)
	return rec.Layer.Size, nil
}

// unpack makes sure every layer of sr's chain has its unpacked directory.
func (b *build) unpack(ctx context.Context, sr *stageResult) error {
	for i := range sr.layers {
		if sr.layers[i].dir != "" {
			continue
		}
		dir, err := b.e.store.Unpack(ctx, sr.layers[i].layer)
		if err != nil {
			return fmt.Errorf("unpacking layer %s: %w", sr.layers[i].diffID, err)
		}
		sr.layers[i].dir = dir
	}
	return nil
}

// created is the timestamp of new history entries and of the image.
func (b *build) created() time.Time {
	if b.req.SourceDateEpoch != nil {
		return b.req.SourceDateEpoch.UTC()
	}
	return time.Now().UTC()
}

func (sr *stageResult) addHistory(step *plan.Step, empty bool, at time.Time) v1.History {
	h := v1.History{
		Created:    v1.Time{Time: at},
		CreatedBy:  historyText(step),
		Comment:    "zbuild",
		EmptyLayer: empty,
	}
	sr.cfg.History = append(sr.cfg.History, h)
	return h
}

// lastCreated is the time of the stage's newest history entry (or of its
// base): metadata-only steps and the image itself take it, so a rebuild
// whose steps all hit the cache yields the same image digest.
func (sr *stageResult) lastCreated() time.Time {
	if n := len(sr.cfg.History); n > 0 {
		return sr.cfg.History[n-1].Created.Time
	}
	return sr.cfg.Created.Time
}

// historyText is the created_by of a step, shaped like BuildKit's: RUN gets
// its argv, other instructions their text.
func historyText(step *plan.Step) string {
	if step.Run != nil {
		s := "RUN"
		for _, a := range step.Run.Args {
			s += " " + a
		}
		return s + " # zbuild"
	}
	return step.Text + " # zbuild"
}
