package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/pkg/archive"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/zbuild/zbuild/internal/engine"
	"github.com/zbuild/zbuild/internal/layer"
	"github.com/zbuild/zbuild/internal/output"
	"github.com/zbuild/zbuild/internal/registry"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/worker/linux"
)

// CacheSpec is one --cache-to or --cache-from: where build cache records
// are shared between machines.
type CacheSpec struct {
	// Type is "registry" (Ref) or "local" (Dir: an OCI layout).
	Type string
	Ref  string
	Dir  string
	// Mode is "min" (the target stage's steps, the default) or "max"
	// (every stage's), for --cache-to.
	Mode string
	// Mounts also exports the contents of the RUN --mount=type=cache
	// directories the build used (mounts=true), for --cache-to. Imports
	// restore them into cache mounts that are empty on this machine.
	Mounts bool
}

// cacheConfigType is the media type of the cache artifact's config: a JSON
// map of cache keys to records. The layers are the records' layer blobs.
const cacheConfigType types.MediaType = "application/vnd.zbuild.cache.config.v1+json"

// cacheTag names the cache artifact inside a local OCI layout.
const cacheTag = "zbuild-cache"

// ParseCache parses a --cache-to/--cache-from value:
// type=registry,ref=REPO[:TAG][,mode=min|max] or type=local,dest=DIR
// (src=DIR for --cache-from).
func ParseCache(flag, s string) (CacheSpec, error) {
	fields, err := csvFields(s)
	if err != nil {
		return CacheSpec{}, &UsageError{flag, s, err.Error()}
	}
	var c CacheSpec
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return CacheSpec{}, &UsageError{flag, s, fmt.Sprintf("%q is not key=value", f)}
		}
		switch k {
		case "type":
			c.Type = v
		case "ref":
			c.Ref = v
		case "dest", "src":
			c.Dir = v
		case "mounts":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return CacheSpec{}, &UsageError{flag, s, "mounts must be true or false"}
			}
			c.Mounts = b
		case "mode":
			if v != "min" && v != "max" {
				return CacheSpec{}, &UsageError{flag, s, "mode must be min or max"}
			}
			c.Mode = v
		default:
			return CacheSpec{}, &UsageError{flag, s, "unknown key " + k + " (want type, ref, dest/src, mode, mounts)"}
		}
	}
	switch {
	case c.Type == "registry" && c.Ref == "":
		return CacheSpec{}, &UsageError{flag, s, "type=registry needs ref=REGISTRY/REPO[:TAG]"}
	case c.Type == "local" && c.Dir == "":
		return CacheSpec{}, &UsageError{flag, s, "type=local needs dest=DIR (src=DIR for --cache-from)"}
	case c.Type != "registry" && c.Type != "local":
		return CacheSpec{}, &UsageError{flag, s, "type must be registry or local"}
	}
	if c.Mode == "" {
		c.Mode = "min"
	}
	return c, nil
}

// exportCache writes the records a build used (the target stage's, or all
// with mode=max) and their layer blobs as one artifact. Only blobs the
// destination lacks are sent: the registry client asks before uploading,
// and an OCI layout keeps blobs it has. Base image layers are never part
// of it: they are not cache records.
func exportCache(ctx context.Context, st *store.Store, w *linux.Worker, res *engine.Result, spec CacheSpec, ropts registry.Options) error {
	records := map[string]store.CacheRecord{}
	var layers []v1.Layer
	seen := map[v1.Hash]bool{}
	for _, e := range res.Records {
		if spec.Mode != "max" && e.Stage != res.Target {
			continue
		}
		records[e.Key] = e.Record
		l := e.Record.Layer
		if l == nil || seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		v1l, err := layer.ToV1(layer.Descriptor{Digest: l.Digest, DiffID: l.DiffID, Size: l.Size, MediaType: l.MediaType}, st.BlobPath(l.Digest))
		if err != nil {
			return err
		}
		layers = append(layers, v1l)
	}
	mounts := map[string]cachedMount{}
	if spec.Mounts {
		tmp, err := st.TempDir("cache-export")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		for i, id := range res.CacheMounts {
			l, err := mountLayer(ctx, w, id, filepath.Join(tmp, strconv.Itoa(i)))
			if err != nil {
				return fmt.Errorf("exporting cache mount %q: %w", id, err)
			}
			d, _ := l.Digest()
			diff, _ := l.DiffID()
			mounts[id] = cachedMount{Digest: d, DiffID: diff}
			layers = append(layers, l)
		}
	}
	cfg, err := json.Marshal(cacheConfig{Records: records, Mounts: mounts})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, cacheConfigType)
	img = &rawConfigImage{Image: img, config: cfg}
	switch spec.Type {
	case "local":
		return output.OCILayoutDir(ctx, img, spec.Dir, cacheTag)
	default:
		_, err := registry.Push(ctx, img, spec.Ref, ropts, registry.PushOptions{})
		return err
	}
}

// importCache adds the records of a cache artifact to the store, with the
// layer blobs the store lacks. A missing artifact is not an error (the
// first build of a cache has nothing to import).
func importCache(ctx context.Context, st *store.Store, w *linux.Worker, spec CacheSpec, ropts registry.Options) (int, error) {
	var img v1.Image
	switch spec.Type {
	case "local":
		lp, err := layout.FromPath(spec.Dir)
		if err != nil {
			return 0, nil
		}
		idx, err := lp.ImageIndex()
		if err != nil {
			return 0, fmt.Errorf("reading cache %s: %w", spec.Dir, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return 0, err
		}
		for i := len(im.Manifests) - 1; i >= 0; i-- {
			if d := im.Manifests[i]; d.Annotations["org.opencontainers.image.ref.name"] == cacheTag {
				if img, err = idx.Image(d.Digest); err != nil {
					return 0, err
				}
				break
			}
		}
		if img == nil {
			return 0, nil
		}
	default:
		var err error
		img, _, err = registry.Resolve(ctx, spec.Ref, registry.DefaultPlatform(), ropts)
		if err != nil {
			if isNotFound(err) {
				return 0, nil
			}
			return 0, fmt.Errorf("reading cache %s: %w", spec.Ref, err)
		}
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return 0, err
	}
	var cfg cacheConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return 0, fmt.Errorf("cache artifact has an unreadable config: %w", err)
	}
	n := 0
	for key, rec := range cfg.Records {
		if l := rec.Layer; l != nil && !st.HasBlob(l.Digest) {
			bl, err := img.LayerByDigest(l.Digest)
			if err != nil {
				return n, fmt.Errorf("cache blob %s: %w", l.Digest, err)
			}
			rc, err := bl.Compressed()
			if err != nil {
				return n, err
			}
			_, _, err = st.WriteBlob(ctx, rc, l.Digest)
			rc.Close()
			if err != nil {
				return n, fmt.Errorf("importing cache blob %s: %w", l.Digest, err)
			}
		}
		if err := st.PutCacheRecord(ctx, key, rec); err != nil {
			return n, err
		}
		n++
	}
	for id, m := range cfg.Mounts {
		if err := restoreMount(ctx, w, img, id, m); err != nil {
			return n, fmt.Errorf("importing cache mount %q: %w", id, err)
		}
	}
	return n, nil
}

// cacheConfig is the config blob of a cache artifact.
type cacheConfig struct {
	Records map[string]store.CacheRecord `json:"records"`
	// Mounts maps cache mount ids to the layer holding their contents.
	Mounts map[string]cachedMount `json:"mounts,omitempty"`
}

type cachedMount struct {
	Digest v1.Hash `json:"digest"`
	DiffID v1.Hash `json:"diffID"`
}

// mountLayer packs the shared directory of cache mount id into a layer
// blob at path.
func mountLayer(ctx context.Context, w *linux.Worker, id, path string) (v1.Layer, error) {
	dir, release, err := w.CacheMount(ctx, id, "locked", 0, 0, 0)
	if err != nil {
		return nil, err
	}
	defer release()
	desc, err := layer.WriteFile(ctx, dir, path, layer.Options{})
	if err != nil {
		return nil, err
	}
	return layer.ToV1(desc, path)
}

// restoreMount fills cache mount id from the artifact's layer, unless this
// machine's copy already has content (local state wins: it is newer).
func restoreMount(ctx context.Context, w *linux.Worker, img v1.Image, id string, m cachedMount) error {
	dir, release, err := w.CacheMount(ctx, id, "locked", 0, 0, 0)
	if err != nil {
		return err
	}
	defer release()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return nil
	}
	l, err := img.LayerByDigest(m.Digest)
	if err != nil {
		return err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = archive.Apply(ctx, dir, rc)
	return err
}

// rawConfigImage serves a non-image config (the cache records) as the
// image's config blob.
type rawConfigImage struct {
	v1.Image
	config []byte
}

func (i *rawConfigImage) RawConfigFile() ([]byte, error) { return i.config, nil }

func (i *rawConfigImage) ConfigName() (v1.Hash, error) {
	h, _, err := v1.SHA256(strings.NewReader(string(i.config)))
	return h, err
}

func (i *rawConfigImage) Manifest() (*v1.Manifest, error) {
	m, err := i.Image.Manifest()
	if err != nil {
		return nil, err
	}
	m = m.DeepCopy()
	h, err := i.ConfigName()
	if err != nil {
		return nil, err
	}
	m.Config.Digest, m.Config.Size = h, int64(len(i.config))
	return m, nil
}

func (i *rawConfigImage) RawManifest() ([]byte, error) {
	m, err := i.Manifest()
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func (i *rawConfigImage) Digest() (v1.Hash, error) {
	raw, err := i.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(strings.NewReader(string(raw)))
	return h, err
}

func (i *rawConfigImage) Size() (int64, error) {
	raw, err := i.RawManifest()
	return int64(len(raw)), err
}

// isNotFound reports a registry's 404: the cache was never exported.
func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
