package engine

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// image assembles the stage's result as an OCI image: its layer chain and
// its config, plus the build's labels. The layers are the blobs already in
// the store: nothing is recompressed or rehashed.
func (sr *stageResult) image(labels map[string]string, epoch *time.Time) (v1.Image, error) {
	cfg, err := copyConfig(&sr.cfg)
	if err != nil {
		return nil, err
	}
	if len(labels) > 0 && cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	for k, v := range labels {
		cfg.Config.Labels[k] = v
	}
	// The image is as old as its newest history entry, so a rebuild that
	// reuses every step from the cache yields the same digest.
	created := sr.lastCreated()
	if epoch != nil {
		created = epoch.UTC()
	}
	cfg.Created = v1.Time{Time: created}
	if cfg.RootFS.Type == "" {
		cfg.RootFS.Type = "layers"
	}
	if len(cfg.RootFS.DiffIDs) != len(sr.layers) {
		return nil, fmt.Errorf("config lists %d layers but the stage has %d", len(cfg.RootFS.DiffIDs), len(sr.layers))
	}
	layers := make([]v1.Layer, len(sr.layers))
	for i, l := range sr.layers {
		layers[i] = ociLayer{l.layer}
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return mutate.ConfigFile(img, cfg)
}

// ociLayer reports Docker layer media types as their OCI equivalents (the
// bytes are the same), so an image built on a Docker-format base is a
// consistent OCI image.
type ociLayer struct{ v1.Layer }

func (l ociLayer) MediaType() (types.MediaType, error) {
	mt, err := l.Layer.MediaType()
	if err != nil {
		return "", err
	}
	switch mt {
	case types.DockerLayer:
		return types.OCILayer, nil
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer, nil
	case types.DockerForeignLayer:
		return types.OCIRestrictedLayer, nil
	}
	return mt, nil
}
