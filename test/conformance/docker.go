package conformance

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Docker builds cases with `docker build` and BuildKit: Docker's own
// Dockerfile implementation, the reference the suite measures against.
type Docker struct {
	// Client is the docker CLI. It must speak to the daemon without buildx:
	// Debian's /usr/bin/docker (20.10) does, a v28 client does not.
	Client string
	// Host is the daemon's address (DOCKER_HOST), "unix://…".
	Host string
	// Base is the reference every case gets as build-arg BASE; the daemon
	// must reach it (a registry on 127.0.0.1 is insecure by default).
	Base string
	// WorkDir receives the exported images and the client's config.
	WorkDir string
}

// Name implements Builder.
func (d *Docker) Name() string { return "docker" }

func (d *Docker) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.Client, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// A fixed environment: the caller's ~/.docker (contexts, credential
	// helpers, a buildx default builder) must not change what is built.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + d.WorkDir, "TMPDIR=" + d.WorkDir,
		"DOCKER_CONFIG=" + filepath.Join(d.WorkDir, ".docker"),
		"DOCKER_HOST=" + d.Host, "DOCKER_BUILDKIT=1",
	}
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %w", args[0], err)
	}
	return out.String(), nil
}

// Build implements Builder.
func (d *Docker) Build(ctx context.Context, c Case) (v1.Image, error) {
	tag := "conformance/" + strings.ToLower(c.Name) + ":docker"
	args := []string{"build", "--progress", "plain", "--no-cache",
		// The daemon runs with --bridge=none, so the host network is
		// the only one a RUN container can join.
		"--network", "host",
		"--build-arg", "BASE=" + d.Base, "-t", tag, "-f", filepath.Join(c.Dir, "Dockerfile")}
	args = append(args, c.cliArgs()...)
	out, err := d.run(ctx, args...)
	if err != nil {
		return nil, &BuildError{Builder: d.Name(), Err: err, Output: out}
	}
	defer d.run(context.WithoutCancel(ctx), "rmi", "--force", tag) //nolint:errcheck // best-effort cleanup of a private daemon
	// docker save writes Docker's config as built (Healthcheck, OnBuild
	// and Shell included) in a tarball go-containerregistry reads.
	file := filepath.Join(d.WorkDir, c.Name+".docker.tar")
	if out, err := d.run(ctx, "save", "--output", file, tag); err != nil {
		return nil, fmt.Errorf("exporting the docker image: %w: %s", err, out)
	}
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the docker image: %w", err)
	}
	return img, nil
}
