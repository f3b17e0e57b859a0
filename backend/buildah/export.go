package buildah

import (
	"context"
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// export writes image id to a docker-archive in the build's temp dir and
// opens it. A docker archive keeps the Docker config as committed; an OCI
// export would drop HEALTHCHECK, ONBUILD and SHELL.
func (b *build) export(ctx context.Context, id string) (v1.Image, error) {
	file := filepath.Join(b.tmp, "image.tar")
	if _, err := b.cli.Output(ctx, "push", "--quiet", id, "docker-archive:"+file); err != nil {
		return nil, fmt.Errorf("exporting the image from buildah: %w", err)
	}
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the image exported from buildah: %w", err)
	}
	return img, nil
}
