package store

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// minShortID is the shortest image ID prefix accepted, so that short words
// are not taken for IDs by accident.
const minShortID = 4

// Descriptor finds what refOrID names and returns its descriptor (media type,
// digest, size, platform, tag annotation). refOrID is, in order of
// precedence: a full digest ("sha256:…", also of an image inside a stored
// index); a reference, normalised like NormalizeRef ("busybox",
// "repo@sha256:…"); or a prefix of at least 4 hex digits of a stored manifest
// digest (a short image ID). Errors are ErrNotFound or ErrAmbiguous.
func (s *Store) Descriptor(ctx context.Context, refOrID string) (v1.Descriptor, error) {
	if err := ctx.Err(); err != nil {
		return v1.Descriptor{}, err
	}
	idx, err := s.readIndex()
	if err != nil {
		return v1.Descriptor{}, err
	}
	if h, err := v1.NewHash(refOrID); err == nil {
		if d, ok := s.findDigest(idx, h); ok {
			return d, nil
		}
		return v1.Descriptor{}, fmt.Errorf("image %s: %w", refOrID, ErrNotFound)
	}
	if ref, err := NormalizeRef(refOrID); err == nil {
		if d, ok := findRef(idx, ref); ok {
			return d, nil
		}
		if at := strings.LastIndex(ref, "@"); at >= 0 {
			if h, err := v1.NewHash(ref[at+1:]); err == nil {
				if d, ok := s.findDigest(idx, h); ok {
					return d, nil
				}
			}
		}
	}
	if isShortID(refOrID) {
		return findShortID(idx, refOrID)
	}
	return v1.Descriptor{}, fmt.Errorf("image %s: %w", refOrID, ErrNotFound)
}

// Image returns the image refOrID names (see Descriptor for the forms) and
// its manifest digest. An image index is ErrNotImage: use ImageForPlatform.
func (s *Store) Image(ctx context.Context, refOrID string) (v1.Image, v1.Hash, error) {
	d, err := s.Descriptor(ctx, refOrID)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if d.MediaType.IsIndex() {
		return nil, v1.Hash{}, fmt.Errorf("%s is an image index, not an image (choose a platform): %w", refOrID, ErrNotImage)
	}
	img, err := s.loadImage(d.Digest)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("loading image %s: %w", refOrID, err)
	}
	return img, d.Digest, nil
}

// ImageForPlatform is Image that also accepts an image index, choosing its
// image for platform (fields left empty in platform match anything). An
// image is returned whatever its platform, as docker does for single-platform
// images; the caller may check its config.
func (s *Store) ImageForPlatform(ctx context.Context, refOrID string, platform v1.Platform) (v1.Image, v1.Hash, error) {
	d, err := s.Descriptor(ctx, refOrID)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	for d.MediaType.IsIndex() {
		idx, err := s.loadIndex(d.Digest)
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("loading index %s: %w", refOrID, err)
		}
		child, err := SelectPlatform(idx.manifest, platform)
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("image %s: %w", refOrID, err)
		}
		d = child
	}
	img, err := s.loadImage(d.Digest)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("loading image %s: %w", refOrID, err)
	}
	return img, d.Digest, nil
}

// Index returns the image index refOrID names and its digest; an image is
// ErrNotImage.
func (s *Store) Index(ctx context.Context, refOrID string) (v1.ImageIndex, v1.Hash, error) {
	d, err := s.Descriptor(ctx, refOrID)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if !d.MediaType.IsIndex() {
		return nil, v1.Hash{}, fmt.Errorf("%s is an image, not an image index: %w", refOrID, ErrNotImage)
	}
	idx, err := s.loadIndex(d.Digest)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("loading index %s: %w", refOrID, err)
	}
	return idx, d.Digest, nil
}

// PlatformError says that an index has no image for the wanted platform and
// lists those it has.
type PlatformError struct {
	Want      v1.Platform
	Available []v1.Platform
}

func (e *PlatformError) Error() string {
	names := make([]string, 0, len(e.Available))
	for _, p := range e.Available {
		names = append(names, p.String())
	}
	return fmt.Sprintf("no image for platform %s (available: %s)", e.Want.String(), strings.Join(names, ", "))
}

// Is makes a PlatformError match ErrNotFound.
func (e *PlatformError) Is(target error) bool { return target == ErrNotFound }

// SelectPlatform picks the entry of an index manifest for platform: the
// first image whose platform satisfies it (empty fields in platform match
// anything). With none it returns a *PlatformError.
func SelectPlatform(im *v1.IndexManifest, platform v1.Platform) (v1.Descriptor, error) {
	var avail []v1.Platform
	for _, d := range im.Manifests {
		if d.Platform == nil {
			continue
		}
		if !(d.MediaType.IsImage() || d.MediaType.IsIndex()) {
			continue
		}
		// Attestation manifests of buildx carry platform unknown/unknown.
		if d.Platform.OS == "unknown" {
			continue
		}
		if d.Platform.Satisfies(platform) {
			return d, nil
		}
		avail = append(avail, *d.Platform)
	}
	return v1.Descriptor{}, &PlatformError{Want: platform, Available: avail}
}

// findRef finds the entry tagged ref (already normalised).
func findRef(idx *indexFile, ref string) (v1.Descriptor, bool) {
	for _, e := range idx.Manifests {
		if refName(e) == ref {
			return e, true
		}
	}
	return v1.Descriptor{}, false
}

// findDigest finds h among the entries, then among the children of stored
// indexes (so one platform of a stored multi-platform image can be named).
func (s *Store) findDigest(idx *indexFile, h v1.Hash) (v1.Descriptor, bool) {
	for _, e := range idx.Manifests {
		if e.Digest == h {
			return withRef(e, ""), true
		}
	}
	seen := map[v1.Hash]bool{}
	var walk func(v1.Descriptor) (v1.Descriptor, bool)
	walk = func(d v1.Descriptor) (v1.Descriptor, bool) {
		if !d.MediaType.IsIndex() || seen[d.Digest] {
			return v1.Descriptor{}, false
		}
		seen[d.Digest] = true
		x, err := s.loadIndex(d.Digest)
		if err != nil {
			return v1.Descriptor{}, false
		}
		for _, c := range x.manifest.Manifests {
			if c.Digest == h && s.HasBlob(h) {
				return c, true
			}
			if found, ok := walk(c); ok {
				return found, true
			}
		}
		return v1.Descriptor{}, false
	}
	for _, e := range idx.Manifests {
		if d, ok := walk(e); ok {
			return d, true
		}
	}
	return v1.Descriptor{}, false
}

func isShortID(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) < minShortID || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// findShortID matches a hex prefix against the stored manifest digests.
func findShortID(idx *indexFile, id string) (v1.Descriptor, error) {
	prefix := strings.TrimPrefix(id, "sha256:")
	var found *v1.Descriptor
	for _, e := range idx.Manifests {
		if !strings.HasPrefix(e.Digest.Hex, prefix) {
			continue
		}
		if found != nil && found.Digest != e.Digest {
			return v1.Descriptor{}, fmt.Errorf("image id %s matches %s and %s: %w", id, found.Digest, e.Digest, ErrAmbiguous)
		}
		d := withRef(e, "")
		found = &d
	}
	if found == nil {
		return v1.Descriptor{}, fmt.Errorf("image %s: %w", id, ErrNotFound)
	}
	return *found, nil
}
