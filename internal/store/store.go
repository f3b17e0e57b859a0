package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Directory names under the store root.
const (
	dirOCI    = "oci"    // OCI image layout: oci-layout, index.json, blobs/
	dirLayers = "layers" // layers/<diff-id hex>/diff: unpacked layers
	dirLinks  = "l"      // l/<short>: symlinks to layers/<hex>/diff
	dirTmp    = "tmp"    // ingest files, unpack and build scratch
	dirLocks  = "locks"  // flock files
)

// staleAfter is how old an entry of tmp/ must be before Open removes it. A
// live ingest or unpack keeps writing, so an hour-old entry is left over from
// a crash; Open also removes nothing while any other process holds the store
// lock.
const staleAfter = time.Hour

// Store is a local image store rooted at one directory. It is safe for
// concurrent use by many goroutines and many processes.
type Store struct {
	root string
}

// Open opens the store at root, creating its layout if needed, and removes
// stale temporary files (older than an hour) when no other process is using
// the store.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", root, err)
	}
	s := &Store{root: abs}
	for _, dir := range []string{
		filepath.Join(dirOCI, "blobs", "sha256"), dirLayers, dirLinks, dirTmp, dirLocks,
	} {
		if err := os.MkdirAll(filepath.Join(abs, dir), 0o755); err != nil {
			return nil, fmt.Errorf("opening store %s: %w", abs, err)
		}
	}
	if err := s.initLayout(); err != nil {
		return nil, fmt.Errorf("opening store %s: %w", abs, err)
	}
	if err := s.cleanStaleTmp(); err != nil {
		return nil, fmt.Errorf("opening store %s: %w", abs, err)
	}
	return s, nil
}

// Root is the store's absolute root directory.
func (s *Store) Root() string { return s.root }

// LayoutPath is the directory of the store's OCI image layout, readable by
// any OCI layout reader (e.g. go-containerregistry's layout.Path).
func (s *Store) LayoutPath() string { return filepath.Join(s.root, dirOCI) }

// TempDir creates a new directory inside the store's tmp/, on the same file
// system as the blobs and layers, so that files made there can be renamed
// in (IngestFile, AddUnpacked). The caller removes it when done; GC and Open
// remove leftovers.
func (s *Store) TempDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp(filepath.Join(s.root, dirTmp), prefix)
	if err != nil {
		return "", fmt.Errorf("creating temp dir: %w", err)
	}
	return dir, nil
}

// initLayout writes oci-layout and an empty index.json when missing.
func (s *Store) initLayout() error {
	layoutFile := filepath.Join(s.root, dirOCI, "oci-layout")
	if _, err := os.Stat(layoutFile); os.IsNotExist(err) {
		if err := s.writeFileAtomic(layoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
			return err
		}
	}
	if _, err := os.Stat(s.indexPath()); os.IsNotExist(err) {
		// updateIndex reads a missing index.json as empty and writes it back.
		return s.updateIndex(context.Background(), func(*indexFile) (bool, error) { return true, nil })
	}
	return nil
}

// cleanStaleTmp removes old entries of tmp/ when it can take the store lock
// exclusively without waiting (no build of another process is running).
func (s *Store) cleanStaleTmp() error {
	lock, ok, err := tryLockFile(s.storeLockPath(), unix.LOCK_EX)
	if err != nil || !ok {
		return err
	}
	defer lock.Unlock()
	_, err = s.cleanTmp(time.Now().Add(-staleAfter))
	return err
}

// cleanTmp removes entries of tmp/ last modified before cutoff (all entries
// for a zero cutoff), skipping any that hold a mount point. It returns how
// many it removed.
func (s *Store) cleanTmp(cutoff time.Time) (int, error) {
	tmp := filepath.Join(s.root, dirTmp)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return 0, fmt.Errorf("reading tmp: %w", err)
	}
	mounts, err := mountsUnder(tmp)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue // removed by someone else meanwhile
		}
		if !cutoff.IsZero() && info.ModTime().After(cutoff) {
			continue
		}
		path := filepath.Join(tmp, e.Name())
		if holdsMount(path, mounts) {
			// A crashed build left a mount here; removing through it could
			// delete files outside the store. Leave it for a human.
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			return removed, fmt.Errorf("removing stale %s: %w", path, err)
		}
		removed++
	}
	return removed, nil
}
