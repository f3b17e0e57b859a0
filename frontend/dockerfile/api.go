package dockerfile

import (
	"context"

	"github.com/zbuild/zbuild/plan"
)

// Options configure one conversion.
type Options struct {
	// Filename is the name shown in errors and positions; "" means
	// "Dockerfile".
	Filename string
	// BuildArgs are --build-arg values. A key given without a value on the
	// command line is looked up in the environment by the caller, not here.
	BuildArgs map[string]string
	// Target is the --target stage name; "" means the last stage.
	Target string
	// TargetPlatform and BuildPlatform set the predefined TARGET* and
	// BUILD* args and the default stage platform; the zero value means
	// linux/runtime.GOARCH.
	TargetPlatform, BuildPlatform plan.Platform
	// Resolver gives the configuration of base images. It is optional: nil
	// treats every base image config as empty (no env, workdir, shell or
	// ONBUILD triggers).
	Resolver ImageResolver
}

// ImageResolver gives a base image's configuration. The engine implements it
// with the store and the registry; the frontend itself does no I/O. It is
// called only for stages the target needs, so nothing is pulled for the
// others. For `FROM oci-layout://DIR[:tag]` the ref passed is that whole
// string.
type ImageResolver interface {
	ResolveImageConfig(ctx context.Context, ref string, platform plan.Platform) (ImageConfig, error)
}

// ImageConfig is the part of a base image's configuration the conversion
// depends on.
type ImageConfig struct {
	// Env is the image environment as KEY=value entries.
	Env        []string
	WorkingDir string
	Shell      []string
	// User is the base image's user. The conversion itself does not need
	// it (BuildKit uses it only for the ownership of WORKDIR directories,
	// which the engine creates).
	User string
	// OnBuild are the image's ONBUILD triggers, run first in a stage
	// built on it.
	OnBuild []string
	// OS is the image's operating system ("linux", "windows"); "" means
	// the stage platform's.
	OS string
}

// Result is a converted Dockerfile.
type Result struct {
	Graph *plan.Graph
	// Warnings are lint findings, in the order they were found.
	Warnings []Warning
	// UnusedBuildArgs are --build-arg keys that no ARG of a built stage
	// (or used global ARG) consumed, sorted.
	UnusedBuildArgs []string
}

// Warning is one lint finding.
type Warning struct {
	// RuleName is BuildKit's rule name ("UndefinedVar"…), or
	// "UnusedBuildArgs" for --build-arg values no ARG consumed.
	RuleName    string
	Description string
	URL         string
	Message     string
	Pos         plan.Pos
}
