package store

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is how the store spells Docker Hub in references. ggcr calls it
// index.docker.io, but docker.io is what users type and what Docker shows.
const dockerHub = "docker.io"

// NormalizeRef returns the full spelling of an image reference: registry,
// repository with library/ for Docker Hub's official images, and the tag
// (latest by default) or digest. "busybox" becomes
// "docker.io/library/busybox:latest".
func NormalizeRef(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parsing reference %q: %w: %w", ref, ErrInvalid, err)
	}
	return normalized(r), nil
}

// NormalizeTag is NormalizeRef for references that must be tags, as when
// naming an image: digest references are rejected.
func NormalizeTag(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parsing reference %q: %w: %w", ref, ErrInvalid, err)
	}
	if _, ok := r.(name.Tag); !ok {
		return "", fmt.Errorf("%q is a digest reference, a tag is needed here: %w", ref, ErrInvalid)
	}
	return normalized(r), nil
}

func normalized(r name.Reference) string {
	repo := r.Context()
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	full := reg + "/" + repo.RepositoryStr()
	switch r := r.(type) {
	case name.Tag:
		return full + ":" + r.TagStr()
	case name.Digest:
		return full + "@" + r.DigestStr()
	}
	return full + ":" + r.Identifier()
}

// normalizeTags validates and normalises a list of tags before anything is
// written, dropping duplicates.
func normalizeTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		n, err := NormalizeTag(t)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}
