package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// AnnotationRefName is the OCI annotation holding an entry's full tag
// reference, e.g. "docker.io/library/busybox:latest".
const AnnotationRefName = "org.opencontainers.image.ref.name"

// indexFile is the decoded oci/index.json. Each entry is one tag (with
// AnnotationRefName) or one untagged image (without); an image with three
// tags has three entries.
type indexFile struct {
	v1.IndexManifest
}

func (s *Store) indexPath() string { return filepath.Join(s.root, dirOCI, "index.json") }

// readIndex reads index.json without locking: writers replace it by rename,
// so a reader always sees one whole version.
func (s *Store) readIndex() (*indexFile, error) {
	b, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return &indexFile{IndexManifest: v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading index.json: %w", err)
	}
	var idx indexFile
	if err := json.Unmarshal(b, &idx.IndexManifest); err != nil {
		return nil, fmt.Errorf("parsing index.json: %w", err)
	}
	return &idx, nil
}

// updateIndex applies fn to index.json under the exclusive index lock and,
// when fn reports a change, writes the result atomically.
func (s *Store) updateIndex(ctx context.Context, fn func(*indexFile) (bool, error)) error {
	lock, err := lockFile(ctx, s.indexLockPath(), unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	changed, err := fn(idx)
	if err != nil || !changed {
		return err
	}
	idx.SchemaVersion = 2
	idx.MediaType = types.OCIImageIndex
	if idx.Manifests == nil {
		idx.Manifests = []v1.Descriptor{} // the spec requires an array, not null
	}
	b, err := json.MarshalIndent(&idx.IndexManifest, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding index.json: %w", err)
	}
	return s.writeFileAtomic(s.indexPath(), append(b, '\n'))
}

// refName is the entry's tag, or "" for an untagged entry.
func refName(d v1.Descriptor) string { return d.Annotations[AnnotationRefName] }

// withRef returns a copy of d carrying only the tag annotation ref ("" for
// none).
func withRef(d v1.Descriptor, ref string) v1.Descriptor {
	d.Annotations = nil
	if ref != "" {
		d.Annotations = map[string]string{AnnotationRefName: ref}
	}
	return d
}

// setTags records d under each of refs, moving any ref that pointed
// elsewhere. With no refs, d is recorded untagged unless an entry already
// holds it. An image that loses its last tag this way loses its entry too
// and becomes garbage for GC.
func (idx *indexFile) setTags(d v1.Descriptor, refs []string) bool {
	if len(refs) == 0 {
		for _, e := range idx.Manifests {
			if e.Digest == d.Digest {
				return false
			}
		}
		idx.Manifests = append(idx.Manifests, withRef(d, ""))
		return true
	}
	drop := make(map[string]bool, len(refs))
	for _, r := range refs {
		drop[r] = true
	}
	kept := idx.Manifests[:0]
	for _, e := range idx.Manifests {
		if drop[refName(e)] {
			continue
		}
		if refName(e) == "" && e.Digest == d.Digest {
			continue // the tags below supersede the untagged entry
		}
		kept = append(kept, e)
	}
	idx.Manifests = kept
	for _, r := range refs {
		idx.Manifests = append(idx.Manifests, withRef(d, r))
	}
	return true
}
