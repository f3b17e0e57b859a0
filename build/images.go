package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/worker/linux"
)

// Types of the local image store, for the image commands.
type (
	ImageInfo    = store.ImageInfo
	Removed      = store.Removed
	Usage        = store.Usage
	PruneOptions = store.PruneOptions
	PruneResult  = store.PruneResult
)

// DefaultRoot is the store's data root when none is given: $ZBUILD_ROOT,
// /var/lib/zbuild as root, else $XDG_DATA_HOME/zbuild.
func DefaultRoot() string { return store.DefaultRoot() }

// Images is the local image store: what `zbuild images`, `inspect`, `tag`,
// `rmi`, `df` and `prune` work on.
type Images struct{ st *store.Store }

// OpenImages opens the store at root ("" is DefaultRoot).
func OpenImages(root string) (*Images, error) {
	if root == "" {
		root = store.DefaultRoot()
	}
	st, err := store.Open(root)
	if err != nil {
		return nil, err
	}
	return &Images{st: st}, nil
}

// List describes every stored image and index, newest first.
func (i *Images) List(ctx context.Context) ([]ImageInfo, error) { return i.st.List(ctx) }

// Image finds an image by name, digest or short ID; it returns the image
// and its manifest digest.
func (i *Images) Image(ctx context.Context, ref string) (v1.Image, v1.Hash, error) {
	return i.st.Image(ctx, ref)
}

// Remove removes a tag (and the image once it has none), or an image with
// all its tags when given by ID.
func (i *Images) Remove(ctx context.Context, ref string) (Removed, error) {
	return i.st.Remove(ctx, ref)
}

// Tag gives the image src another name.
func (i *Images) Tag(ctx context.Context, src, dst string) error { return i.st.Tag(ctx, src, dst) }

// DiskUsage measures the store by kind, cache mounts included.
func (i *Images) DiskUsage(ctx context.Context) (Usage, error) {
	return i.st.DiskUsage(ctx, cacheMountDir(i.st))
}

// Prune removes what opts says, then every unreferenced blob and layer.
// With cacheMounts, the contents of RUN cache mounts go too.
func (i *Images) Prune(ctx context.Context, opts PruneOptions, cacheMounts bool) (PruneResult, error) {
	if cacheMounts {
		if err := i.removeCacheMounts(ctx); err != nil {
			return PruneResult{}, err
		}
	}
	return i.st.Prune(ctx, opts)
}

// removeCacheMounts empties the cache mount directory under the store's
// exclusive lock, so no build is using a mount meanwhile.
func (i *Images) removeCacheMounts(ctx context.Context) error {
	lock, err := i.st.Exclusive(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	dir := cacheMountDir(i.st)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("removing cache mount %s: %w", e.Name(), err)
		}
	}
	return nil
}

// cacheMountDir is where, inside a store, the native worker keeps RUN
// cache mounts.
func cacheMountDir(st *store.Store) string { return filepath.Join(st.Root(), "cache") }

// newWorker is the native Linux worker of a store: snapshots under
// worker/ (the same file system, so upper dirs can be renamed into the
// store as layers) and cache mounts under cache/.
func newWorker(st *store.Store) (*linux.Worker, error) {
	return linux.New(filepath.Join(st.Root(), "worker"), linux.WithCacheRoot(cacheMountDir(st)))
}
