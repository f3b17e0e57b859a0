package build

import (
	"context"
	"errors"
	"io"
	"strconv"

	"github.com/zbuild/zbuild/internal/engine"
	"github.com/zbuild/zbuild/internal/registry"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/worker/linux"
)

// RunOptions describe `zbuild run`: a command in a throw-away container of
// a stored image.
type RunOptions struct {
	// Root is the store's data root; "" is the default.
	Root string
	// Image is a name or ID in the local store.
	Image string
	// Args replace the image's CMD (the ENTRYPOINT stays).
	Args []string
	// Network is "default", "none" or "host".
	Network        string
	Stdout, Stderr io.Writer
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return "command exited with code " + strconv.Itoa(e.Code) }

// RunImage runs opts.Image; a non-zero exit is an *ExitError.
func RunImage(ctx context.Context, opts RunOptions) error {
	root := opts.Root
	if root == "" {
		root = store.DefaultRoot()
	}
	st, err := store.Open(root)
	if err != nil {
		return err
	}
	lock, err := st.Shared(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	img, _, err := st.Image(ctx, opts.Image)
	if err != nil {
		return err
	}
	w, err := newWorker(st)
	if err != nil {
		return err
	}
	err = engine.New(st, w, registry.Options{}).RunImage(ctx, img, opts.Args, opts.Network, opts.Stdout, opts.Stderr)
	var ee *linux.ExitError
	if errors.As(err, &ee) {
		return &ExitError{Code: ee.Code}
	}
	return err
}
