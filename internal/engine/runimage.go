package engine

import (
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/internal/worker/linux"
)

// RunImage runs a command in a throw-away container of img, through the
// same worker as RUN steps: entrypoint + (args, or the image's CMD). What the
// command writes is discarded.
func (e *Engine) RunImage(ctx context.Context, img v1.Image, args []string, network string, stdout, stderr io.Writer) error {
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	lowers := make([]string, len(layers))
	for i, l := range layers {
		dir, err := e.store.Unpack(ctx, l)
		if err != nil {
			return fmt.Errorf("unpacking layer %d: %w", i, err)
		}
		lowers[len(layers)-1-i] = dir
	}
	argv := append([]string(nil), cfg.Config.Entrypoint...)
	if len(args) > 0 {
		argv = append(argv, args...)
	} else {
		argv = append(argv, cfg.Config.Cmd...)
	}
	if len(argv) == 0 {
		return fmt.Errorf("the image has no ENTRYPOINT or CMD: give a command to run")
	}
	snap, err := e.worker.Prepare(ctx, lowers)
	if err != nil {
		return err
	}
	defer snap.Remove()
	cwd := cfg.Config.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	if network == "" {
		network = "default"
	}
	return e.worker.Run(ctx, snap, linux.RunSpec{
		Args: argv, Env: cfg.Config.Env, Cwd: cwd, User: cfg.Config.User,
		Network: network, Hostname: "zbuild", Stdout: stdout, Stderr: stderr,
	})
}
