package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/internal/layer"
	"github.com/zbuild/zbuild/internal/worker/linux"
	"github.com/zbuild/zbuild/plan"
)

// prepare mounts a snapshot over sr's layer chain.
func (b *build) prepare(ctx context.Context, sr *stageResult) (*linux.Snapshot, error) {
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
func (b *build) commit(ctx context.Context, sr *stageResult, snap *linux.Snapshot, step *plan.Step) (int64, error) {
	defer snap.Remove()
	if err := snap.Unmount(); err != nil {
		return 0, fmt.Errorf("unmounting the snapshot: %w", err)
	}
	empty, err := layer.IsEmpty(snap.Upper)
	if err != nil {
		return 0, err
	}
	if empty {
		sr.addHistory(step, true, b.created())
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
	sr.layers = append(sr.layers, layerRef{dir: dir, layer: l})
	sr.cfg.RootFS.Type = "layers"
	sr.cfg.RootFS.DiffIDs = append(sr.cfg.RootFS.DiffIDs, desc.DiffID)
	sr.addHistory(step, false, b.created())
	return desc.Size, nil
}

// created is the timestamp of new history entries and of the image.
func (b *build) created() time.Time {
	if b.req.SourceDateEpoch != nil {
		return b.req.SourceDateEpoch.UTC()
	}
	return time.Now().UTC()
}

func (sr *stageResult) addHistory(step *plan.Step, empty bool, at time.Time) {
	sr.cfg.History = append(sr.cfg.History, v1.History{
		Created:    v1.Time{Time: at},
		CreatedBy:  historyText(step),
		Comment:    "zbuild",
		EmptyLayer: empty,
	})
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
