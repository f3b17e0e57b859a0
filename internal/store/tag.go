package store

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Tag points the tag newRef at the image or index src names (any form
// Descriptor accepts), moving newRef if it named something else.
func (s *Store) Tag(ctx context.Context, src, newRef string) error {
	ref, err := NormalizeTag(newRef)
	if err != nil {
		return err
	}
	d, err := s.Descriptor(ctx, src)
	if err != nil {
		return err
	}
	d = withRef(d, "")
	return s.updateIndex(ctx, func(idx *indexFile) (bool, error) {
		return idx.setTags(d, []string{ref}), nil
	})
}

// Untag removes the tag ref. The image it named keeps its other tags; with
// none left its entry goes too and its blobs become garbage for GC. A tag
// that does not exist is ErrNotFound.
func (s *Store) Untag(ctx context.Context, ref string) error {
	norm, err := NormalizeTag(ref)
	if err != nil {
		return err
	}
	return s.updateIndex(ctx, func(idx *indexFile) (bool, error) {
		kept := idx.Manifests[:0]
		found := false
		for _, e := range idx.Manifests {
			if refName(e) == norm {
				found = true
				continue
			}
			kept = append(kept, e)
		}
		if !found {
			return false, fmt.Errorf("tag %s: %w", norm, ErrNotFound)
		}
		idx.Manifests = kept
		return true, nil
	})
}

// Removed reports what Remove did.
type Removed struct {
	// Untagged are the tags removed.
	Untagged []string
	// Deleted are the manifests no entry refers to any more; their blobs
	// stay until GC.
	Deleted []v1.Hash
}

// Remove is rmi: given a tag it removes that tag (and the image's entry if
// that was its last tag); given a digest or short ID it removes the image
// with all its tags. Blobs and unpacked layers are left for GC.
func (s *Store) Remove(ctx context.Context, refOrID string) (Removed, error) {
	var out Removed
	d, err := s.Descriptor(ctx, refOrID)
	if err != nil {
		return out, err
	}
	byTag := refName(d) != ""
	err = s.updateIndex(ctx, func(idx *indexFile) (bool, error) {
		out = Removed{}
		kept := idx.Manifests[:0]
		remaining := 0
		for _, e := range idx.Manifests {
			match := e.Digest == d.Digest && (!byTag || refName(e) == refName(d))
			if !match {
				if e.Digest == d.Digest {
					remaining++
				}
				kept = append(kept, e)
				continue
			}
			if t := refName(e); t != "" {
				out.Untagged = append(out.Untagged, t)
			}
		}
		if len(kept) == len(idx.Manifests) {
			return false, fmt.Errorf("image %s is not a top-level entry: %w", refOrID, ErrNotFound)
		}
		if remaining == 0 {
			out.Deleted = []v1.Hash{d.Digest}
		}
		idx.Manifests = kept
		return true, nil
	})
	if err != nil {
		return Removed{}, err
	}
	return out, nil
}
