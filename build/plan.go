package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/zbuild/zbuild/frontend/dockerfile"
	"github.com/zbuild/zbuild/plan"
)

// PlanResult is a resolved build plan and what the front-end noticed.
type PlanResult struct {
	Graph *plan.Graph
	// Dockerfile is the path read ("-" for stdin).
	Dockerfile string
	Warnings   []dockerfile.Warning
	// UnusedBuildArgs are --build-arg names no ARG consumed.
	UnusedBuildArgs []string
}

// Plan reads the Dockerfile and .dockerignore of opts and resolves them into
// a build plan, without building anything. resolver may be nil: base image
// configurations (their ENV, WORKDIR, SHELL and ONBUILD) are then taken as
// empty.
func Plan(ctx context.Context, opts Options, resolver dockerfile.ImageResolver) (*PlanResult, error) {
	if opts.ContextDir == "" {
		return nil, &UsageError{"context", "", "a build context directory is required (use . for the current directory)"}
	}
	if fi, err := os.Stat(opts.ContextDir); err != nil || !fi.IsDir() {
		return nil, &UsageError{"context", opts.ContextDir, "not a directory"}
	}
	var (
		src  []byte
		path string
		err  error
	)
	if opts.Dockerfile == "-" {
		src, path = opts.DockerfileContent, "-"
	} else {
		path, err = dockerfile.Locate(opts.ContextDir, opts.Dockerfile)
		if err != nil {
			return nil, err
		}
		if src, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("reading Dockerfile: %w", err)
		}
	}
	target := hostPlatform()
	if len(opts.Platforms) > 1 {
		return nil, &UsageError{"--platform", fmt.Sprint(opts.Platforms), "building several platforms at once is not supported yet; build one platform per run"}
	}
	if len(opts.Platforms) == 1 {
		target = opts.Platforms[0]
	}
	name := "Dockerfile"
	if path != "-" {
		name = filepath.Base(path)
	}
	res, err := dockerfile.Convert(ctx, src, dockerfile.Options{
		Filename:       name,
		BuildArgs:      opts.BuildArgs,
		Target:         opts.Target,
		TargetPlatform: target,
		BuildPlatform:  hostPlatform(),
		Resolver:       resolver,
	})
	if err != nil {
		return nil, err
	}
	ignoreFrom := path
	if path == "-" {
		ignoreFrom = ""
	}
	patterns, ignoreFile, err := dockerfile.ReadIgnore(opts.ContextDir, ignoreFrom)
	if err != nil {
		return nil, err
	}
	res.Graph.Context = plan.Context{Exclude: patterns, IgnoreFile: ignoreFile}
	if err := res.Graph.Validate(); err != nil {
		return nil, fmt.Errorf("front-end produced an invalid plan (a zbuild bug, please report it): %w", err)
	}
	return &PlanResult{Graph: res.Graph, Dockerfile: path, Warnings: res.Warnings, UnusedBuildArgs: res.UnusedBuildArgs}, nil
}

// hostPlatform is the platform this process runs on.
func hostPlatform() plan.Platform {
	p := plan.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	if p.Architecture == "arm64" {
		p.Variant = "v8"
	}
	return p
}
