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

// Buildah builds cases with `buildah build`: buildah's own Dockerfile
// implementation, independent of zbuild's front-end and engine.
type Buildah struct {
	// Binary is the buildah program ("buildah" when empty).
	Binary string
	// Root and RunRoot are buildah's storage directories (--root, --runroot),
	// kept apart from the host's containers-storage.
	Root, RunRoot string
	// Base is the reference every case gets as build-arg BASE; plain HTTP
	// registries are reached with --tls-verify=false.
	Base string
	// Runtime is the OCI runtime ("runc" when empty): crun 1.8.1 fails on
	// hybrid cgroup hosts.
	Runtime string
	// WorkDir receives the exported images.
	WorkDir string
}

// Name implements Builder.
func (b *Buildah) Name() string { return "buildah" }

func (b *Buildah) global() []string {
	return []string{"--root", b.Root, "--runroot", b.RunRoot, "--storage-driver", "overlay"}
}

func (b *Buildah) run(ctx context.Context, args ...string) (string, error) {
	bin := b.Binary
	if bin == "" {
		bin = "buildah"
	}
	cmd := exec.CommandContext(ctx, bin, append(b.global(), args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// A fixed, minimal environment: the suite must not depend on the
	// caller's registries.conf overrides or BUILDAH_* settings.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.WorkDir, "TMPDIR=" + b.WorkDir}
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("buildah %s: %w", args[0], err)
	}
	return out.String(), nil
}

// Pull fetches the base image once, so parallel builds do not race to.
func (b *Buildah) Pull(ctx context.Context) error {
	out, err := b.run(ctx, "pull", "--tls-verify=false", "--quiet", b.Base)
	if err != nil {
		return &BuildError{Builder: b.Name(), Err: err, Output: out}
	}
	return nil
}

// Build implements Builder.
func (b *Buildah) Build(ctx context.Context, c Case) (v1.Image, error) {
	runtime := b.Runtime
	if runtime == "" {
		runtime = "runc"
	}
	tag := "localhost/conformance/" + strings.ToLower(c.Name) + ":buildah"
	args := []string{"build", "--runtime", runtime, "--isolation", "oci",
		// The host's hard RLIMIT_NOFILE can be below buildah's default.
		"--ulimit", "nofile=1024:1024",
		"--tls-verify=false", "--pull-never", "--quiet", "--no-cache",
		// Docker's image format keeps what OCI configs drop (Healthcheck,
		// OnBuild, Shell), so it is the fair comparison with Docker.
		"--format", "docker",
		"--build-arg", "BASE=" + b.Base, "-t", tag, "-f", filepath.Join(c.Dir, "Dockerfile")}
	args = append(args, c.cliArgs()...)
	out, err := b.run(ctx, args...)
	if err != nil {
		return nil, &BuildError{Builder: b.Name(), Err: err, Output: out}
	}
	defer b.run(context.WithoutCancel(ctx), "rmi", "-f", tag) //nolint:errcheck // best-effort cleanup of a temp store
	// docker-archive keeps the Docker config as built; an OCI export
	// would convert it and drop the Docker-only fields.
	file := filepath.Join(b.WorkDir, c.Name+".tar")
	if out, err := b.run(ctx, "push", "--quiet", tag, "docker-archive:"+file+":"+tag); err != nil {
		return nil, fmt.Errorf("exporting the buildah image: %w: %s", err, out)
	}
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the buildah image: %w", err)
	}
	return img, nil
}
