//go:build linux

package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Snapshot is a writable root file system: an overlay of read-only layer
// dirs with a fresh upper dir that records every change. The lifecycle is
//
//	s, _ := w.Prepare(ctx, lowers) // mounted at s.Merged
//	w.Run(ctx, s, spec)            // or write into s.Merged (COPY)
//	s.Unmount()                    // s.Upper is now final: turn it into a layer
//	                               // and hand it to the store, or
//	s.Remove()                     // on failure: unmount and delete it all
//
// Upper is only complete after Unmount: Unmount also drops directories
// that were copied up merely because a mount point was created in them.
type Snapshot struct {
	ID string
	// Lowers are the layer dirs, top first, as given to Prepare.
	Lowers []string
	// Upper records the changes; Work is overlayfs' scratch dir; Merged
	// is the mounted view.
	Upper, Work, Merged string

	dir     string
	mu      sync.Mutex
	mounted bool
	// copiedUp are dirs that Run found copied up only for a mount stub;
	// they are removed from Upper once the overlay is unmounted.
	copiedUp []dirState
}

// Prepare mounts a new snapshot over lowers (top first; no lowers means an
// empty root) under root/snapshots/<id>.
func (w *Worker) Prepare(ctx context.Context, lowers []string) (_ *Snapshot, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, l := range lowers {
		if !filepath.IsAbs(l) {
			return nil, fmt.Errorf("lower dir %q is not an absolute path", l)
		}
		st, err := os.Stat(l)
		if err != nil {
			return nil, fmt.Errorf("checking lower dir: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("lower dir %s is not a directory", l)
		}
	}
	id := randomID()
	dir := filepath.Join(w.root, "snapshots", id)
	s := &Snapshot{
		ID:     id,
		Lowers: append([]string(nil), lowers...),
		Upper:  filepath.Join(dir, "upper"),
		Work:   filepath.Join(dir, "work"),
		Merged: filepath.Join(dir, "merged"),
		dir:    dir,
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	// The upper dir's root becomes the image's "/", so it gets the usual
	// root dir mode rather than the snapshot dir's private one.
	for _, d := range []string{s.Upper, s.Work, s.Merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating snapshot: %w", err)
		}
	}
	mountLowers := lowers
	if len(lowers) == 0 {
		empty := filepath.Join(dir, "empty")
		if err := os.Mkdir(empty, 0o755); err != nil {
			return nil, fmt.Errorf("creating snapshot: %w", err)
		}
		mountLowers = []string{empty}
	}
	if err := mountOverlay(mountLowers, s.Upper, s.Work, s.Merged); err != nil {
		return nil, fmt.Errorf("preparing snapshot: %w", err)
	}
	s.mounted = true
	return s, nil
}

// Unmount unmounts Merged and keeps Upper, which then holds exactly the
// snapshot's changes. Unmounting twice is a no-op.
func (s *Snapshot) Unmount() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.mounted {
		return nil
	}
	if err := unmount(s.Merged); err != nil {
		return err
	}
	s.mounted = false
	return dropCopiedUp(s.Upper, s.copiedUp)
}

// Remove unmounts the snapshot if needed and deletes all its files, Upper
// included: for a failed or cancelled step.
func (s *Snapshot) Remove() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mounted {
		if err := unmount(s.Merged); err != nil {
			// Deleting under a live mount would delete through it.
			return fmt.Errorf("removing snapshot: %w", err)
		}
		s.mounted = false
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("removing snapshot: %w", err)
	}
	return nil
}

func (s *Snapshot) isMounted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mounted
}

func (s *Snapshot) addCopiedUp(dirs []dirState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.copiedUp = append(s.copiedUp, dirs...)
}

var errNotMounted = errors.New("snapshot is not mounted")
