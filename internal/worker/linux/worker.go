//go:build linux

package linux

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrHost is wrapped by New's errors when this host cannot run builds; the
// message says what to change.
var ErrHost = errors.New("host cannot run the linux worker")

// Worker runs build steps on overlayfs snapshots with an OCI runtime. It is
// safe for concurrent use: every snapshot and run has its own directory.
type Worker struct {
	root      string // snapshots/, runs/ and runtime/ live here
	cacheRoot string
	rt        *ociRuntime
}

type options struct {
	runtimePath string
	cacheRoot   string
}

// Option configures New.
type Option func(*options) error

// WithRuntime forces the OCI runtime binary: a path, or a name looked up
// in PATH, of crun or runc. Default: crun when installed (it starts
// containers about twice as fast), else runc.
func WithRuntime(path string) Option {
	return func(o *options) error {
		if path == "" {
			return errors.New("WithRuntime: empty runtime path")
		}
		o.runtimePath = path
		return nil
	}
}

// WithCacheRoot sets the directory where RUN --mount=type=cache contents
// persist across builds. Default: "cache" beside root (root/../cache).
func WithCacheRoot(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return errors.New("WithCacheRoot: empty directory")
		}
		o.cacheRoot = dir
		return nil
	}
}

// New returns a worker keeping its state under root, which must be on the
// same file system as the layer dirs later given to Prepare (the store
// adopts upper dirs by renaming them). It checks the host first: root
// privileges, overlayfs with d_type support (by mounting a real overlay),
// and an OCI runtime. The checks that cost time are recorded under root
// and skipped by later calls while the kernel and runtime binary are the
// same.
func New(root string, opts ...Option) (*Worker, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving worker root: %w", err)
	}
	if o.cacheRoot == "" {
		o.cacheRoot = filepath.Join(filepath.Dir(root), "cache")
	}
	if o.cacheRoot, err = filepath.Abs(o.cacheRoot); err != nil {
		return nil, fmt.Errorf("resolving cache root: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: it needs root to mount overlayfs and run containers (run zbuild as root, e.g. with sudo); rootless mode is not supported", ErrHost)
	}
	for _, d := range []string{root, filepath.Join(root, "snapshots"), filepath.Join(root, "runs"), filepath.Join(root, "runtime"), o.cacheRoot} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("creating worker directory: %w", err)
		}
	}
	if rt, ok := cachedRuntime(root, o.runtimePath); ok {
		return &Worker{root: root, cacheRoot: o.cacheRoot, rt: rt}, nil
	}
	if err := checkDType(root); err != nil {
		return nil, err
	}
	if err := checkOverlay(root); err != nil {
		return nil, err
	}
	rt, err := findRuntime(o.runtimePath, filepath.Join(root, "runtime"))
	if err != nil {
		return nil, err
	}
	saveHostCheck(root, o.runtimePath, rt)
	return &Worker{root: root, cacheRoot: o.cacheRoot, rt: rt}, nil
}

// Runtime names the OCI runtime and its version, e.g. "crun 1.8.1".
func (w *Worker) Runtime() string { return w.rt.String() }

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
