package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Lock is a held advisory file lock (flock). Locks are per open file, so
// they exclude each other between goroutines of one process as well as
// between processes.
type Lock struct {
	f *os.File
}

// Unlock releases the lock. It is safe to call on a nil Lock and more than
// once.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Closing the file drops the flock; an explicit LOCK_UN first makes the
	// release independent of any duplicated descriptor.
	err := unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("releasing lock: %w", err)
	}
	return nil
}

// Longest pause between two attempts to take a busy lock. flock cannot be
// interrupted by a context, so waiting is a poll; the cap keeps a waiter
// responsive without spinning.
const maxLockPoll = 50 * time.Millisecond

// lockFile takes an flock of kind how (unix.LOCK_SH or unix.LOCK_EX) on path,
// creating the file if needed, and waits until ctx is done.
func lockFile(ctx context.Context, path string, how int) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	pause := time.Millisecond
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", filepath.Base(path), err)
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", filepath.Base(path), ctx.Err())
		case <-timer.C:
		}
		pause = min(pause*2, maxLockPoll)
	}
}

// tryLockFile is lockFile without waiting: ok is false when the lock is held
// elsewhere.
func tryLockFile(path string, how int) (l *Lock, ok bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("opening lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("locking %s: %w", filepath.Base(path), err)
	}
	return &Lock{f: f}, true, nil
}

// Shared takes the store-wide lock in shared mode. Every build holds it for
// its whole run, so that GC (which takes it exclusively) never removes a blob
// or unpacked layer that a build has written but not yet tagged. Any number of
// holders, in any number of processes, may share it. Store methods that write
// take it themselves for the length of the call, so taking it is only needed
// to protect work that spans several calls.
func (s *Store) Shared(ctx context.Context) (*Lock, error) {
	return lockFile(ctx, s.storeLockPath(), unix.LOCK_SH)
}

// Exclusive takes the store-wide lock in exclusive mode, waiting for every
// shared holder to finish. It is meant for maintenance such as GC; while it
// is held, calling a Store method that writes would wait for ever on its own
// shared lock, so release it first.
func (s *Store) Exclusive(ctx context.Context) (*Lock, error) {
	return lockFile(ctx, s.storeLockPath(), unix.LOCK_EX)
}

func (s *Store) storeLockPath() string { return filepath.Join(s.root, dirLocks, "store.lock") }
func (s *Store) indexLockPath() string { return filepath.Join(s.root, dirLocks, "index.lock") }
func (s *Store) layerLockPath(hex string) string {
	return filepath.Join(s.root, dirLocks, "layer-"+hex+".lock")
}
