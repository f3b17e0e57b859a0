//go:build linux

package linux

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zbuild/zbuild/plan"
)

// lockPoll bounds how long a waiting cache user sleeps between tries; flock
// cannot wait on a context, so waiting is polling.
const lockPoll = 200 * time.Millisecond

// CacheMount returns the host directory backing RUN --mount=type=cache with
// this id, creating it owned by uid:gid with mode (0 means 0755) on first
// use. Contents persist across builds under the cache root. Sharing:
//
//   - "shared" (or ""): every user gets the same dir at the same time;
//   - "locked": the same dir, but one user at a time (an exclusive flock,
//     held until release, that also excludes other zbuild processes);
//   - "private": a dir no concurrent user has; a free one is reused.
//
// release must be called once the step is done with the dir.
func (w *Worker) CacheMount(ctx context.Context, id, sharing string, uid, gid uint32, mode uint32) (dir string, release func(), err error) {
	if id == "" {
		return "", nil, errors.New("cache mount needs an id")
	}
	if mode == 0 {
		mode = 0o755
	}
	sum := sha256.Sum256([]byte(id))
	base := filepath.Join(w.cacheRoot, hex.EncodeToString(sum[:16]))
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", nil, fmt.Errorf("creating cache %q: %w", id, err)
	}
	// For people looking at the cache root.
	if _, err := os.Stat(filepath.Join(base, "id")); errors.Is(err, os.ErrNotExist) {
		os.WriteFile(filepath.Join(base, "id"), []byte(id+"\n"), 0o600)
	}
	switch sharing {
	case "", plan.SharingShared:
		dir := filepath.Join(base, "shared")
		if err := createCacheDir(dir, uid, gid, mode); err != nil {
			return "", nil, fmt.Errorf("creating cache %q: %w", id, err)
		}
		return dir, func() {}, nil
	case plan.SharingLocked:
		dir := filepath.Join(base, "shared")
		if err := createCacheDir(dir, uid, gid, mode); err != nil {
			return "", nil, fmt.Errorf("creating cache %q: %w", id, err)
		}
		unlock, err := lockFile(ctx, filepath.Join(base, "shared.lock"), true)
		if err != nil {
			return "", nil, fmt.Errorf("locking cache %q: %w", id, err)
		}
		return dir, unlock, nil
	case plan.SharingPrivate:
		for i := 0; ; i++ {
			dir := filepath.Join(base, "private-"+strconv.Itoa(i))
			unlock, err := lockFile(ctx, dir+".lock", false)
			if errors.Is(err, errLocked) {
				continue // in use: try the next one
			}
			if err != nil {
				return "", nil, fmt.Errorf("locking cache %q: %w", id, err)
			}
			if err := createCacheDir(dir, uid, gid, mode); err != nil {
				unlock()
				return "", nil, fmt.Errorf("creating cache %q: %w", id, err)
			}
			return dir, unlock, nil
		}
	default:
		return "", nil, fmt.Errorf("unsupported cache sharing mode %q (want shared, private or locked)", sharing)
	}
}

// createCacheDir makes dir with its owner and mode unless it exists; an
// existing cache keeps what it has.
func createCacheDir(dir string, uid, gid, mode uint32) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".new-")
	if err != nil {
		return err
	}
	if err := os.Chown(tmp, int(uid), int(gid)); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := unix.Chmod(tmp, mode&0o7777); err != nil {
		os.Remove(tmp)
		return err
	}
	// rename(2) of a dir onto an existing non-empty dir fails, onto an
	// empty one replaces it: either way the result is a complete dir.
	if err := os.Rename(tmp, dir); err != nil {
		os.Remove(tmp)
		if _, serr := os.Stat(dir); serr == nil {
			return nil
		}
		return err
	}
	return nil
}

var errLocked = errors.New("locked by another user")

// lockFile takes an exclusive flock on path. With wait it polls until the
// lock is free or ctx is done; without, it returns errLocked at once.
func lockFile(ctx context.Context, path string, wait bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	delay := 5 * time.Millisecond
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing drops the lock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if !wait {
			f.Close()
			return nil, errLocked
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, lockPoll)
	}
}
