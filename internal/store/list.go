package store

import (
	"context"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImageInfo describes one stored image or image index.
type ImageInfo struct {
	// Digest is the manifest digest, the image's ID.
	Digest    v1.Hash
	MediaType types.MediaType
	// Tags are full references ("docker.io/library/busybox:latest"); none for
	// an untagged image.
	Tags []string
	// Created is the config's creation time; for an index, the newest of its
	// images. Zero when unknown.
	Created time.Time
	// Size is the bytes stored for it: manifest, config and compressed
	// layers (for an index, of all its images, shared layers counted once).
	Size int64
	// Platforms are the image's platform, or each platform of an index.
	Platforms []v1.Platform
}

// List describes every stored image and index, newest first.
func (s *Store) List(ctx context.Context) ([]ImageInfo, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []ImageInfo
	pos := map[v1.Hash]int{}
	for _, e := range idx.Manifests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if i, ok := pos[e.Digest]; ok {
			if t := refName(e); t != "" {
				out[i].Tags = append(out[i].Tags, t)
			}
			continue
		}
		info := ImageInfo{Digest: e.Digest, MediaType: e.MediaType}
		if t := refName(e); t != "" {
			info.Tags = []string{t}
		}
		s.describe(e, &info, map[v1.Hash]bool{})
		pos[e.Digest] = len(out)
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// describe adds the size, creation time and platforms of d to info; counted
// holds the blobs already added, so shared layers count once. Missing blobs
// (an index stored with only some platforms) add nothing.
func (s *Store) describe(d v1.Descriptor, info *ImageInfo, counted map[v1.Hash]bool) {
	add := func(h v1.Hash, size int64) {
		if !counted[h] {
			counted[h] = true
			info.Size += size
		}
	}
	add(d.Digest, d.Size)
	switch {
	case d.MediaType.IsIndex():
		x, err := s.loadIndex(d.Digest)
		if err != nil {
			return
		}
		for _, c := range x.manifest.Manifests {
			if s.HasBlob(c.Digest) {
				s.describe(c, info, counted)
			}
		}
	case d.MediaType.IsImage():
		img, err := s.loadImage(d.Digest)
		if err != nil {
			return
		}
		m, err := img.Manifest()
		if err != nil {
			return
		}
		add(m.Config.Digest, m.Config.Size)
		for _, l := range m.Layers {
			add(l.Digest, l.Size)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return
		}
		if cfg.Created.Time.After(info.Created) {
			info.Created = cfg.Created.Time
		}
		if cfg.OS != "" {
			info.Platforms = append(info.Platforms, *cfg.Platform())
		}
	}
}
