package build

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/zbuild/zbuild/internal/layer"
	"github.com/zbuild/zbuild/internal/output"
	"github.com/zbuild/zbuild/internal/store"
)

// Archive formats of Save.
const (
	// FormatOCI is an OCI image layout, as a tar or a directory: it keeps
	// manifests byte for byte, so digests survive a round trip.
	FormatOCI = "oci"
	// FormatDocker is the `docker save` format, for `docker load` and
	// `podman load`. It holds configs and layers but no manifests, so only
	// image IDs (config digests) and layer digests survive a round trip.
	FormatDocker = "docker"
)

// containerdNameAnnotation is where containerd, and docker's containerd
// image store, put an image's full name in an OCI layout.
const containerdNameAnnotation = "io.containerd.image.name"

// SaveOptions describe `zbuild save`.
type SaveOptions struct {
	// Root is the store's data root; "" is the default.
	Root string
	// Images are names or IDs in the local store (at least one).
	Images []string
	// Output is the archive file, "-" for Stdout, or for FormatOCI a
	// directory (an existing one, or a path ending in "/") to write an OCI
	// layout into.
	Output string
	// Format is FormatOCI (default) or FormatDocker.
	Format string
	// Stdout receives the archive when Output is "-".
	Stdout io.Writer
}

// Save writes stored images to an archive.
func Save(ctx context.Context, opts SaveOptions) error {
	if len(opts.Images) == 0 {
		return &UsageError{"save", "", "name at least one image"}
	}
	if opts.Output == "" {
		return &UsageError{"--output", "", "give -o FILE (or - for stdout)"}
	}
	format := opts.Format
	if format == "" {
		format = FormatOCI
	}
	if format != FormatOCI && format != FormatDocker {
		return &UsageError{"--format", format, "want oci or docker"}
	}
	st, unlock, err := openShared(ctx, opts.Root)
	if err != nil {
		return err
	}
	defer unlock()
	items, err := lookupSaved(ctx, st, opts.Images)
	if err != nil {
		return err
	}
	if format == FormatDocker {
		return output.ToFile(opts.Output, opts.Stdout, func(w io.Writer) error { return saveDocker(ctx, items, w) })
	}
	if opts.Output != "-" && !output.IsTarPath(opts.Output) {
		return saveLayout(items, opts.Output)
	}
	// A tar is made from a layout written next to the blobs: ggcr's layout
	// writer handles images and indexes alike, and the store's temp dir
	// is on the same file system.
	tmp, err := st.TempDir("save-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := saveLayout(items, tmp); err != nil {
		return err
	}
	return output.ToFile(opts.Output, opts.Stdout, func(w io.Writer) error { return tarDir(ctx, tmp, w) })
}

// savedItem is one image or index to save, with its name if it has one.
type savedItem struct {
	ref string // normalised tag, "" for an ID
	img v1.Image
	idx v1.ImageIndex
}

func lookupSaved(ctx context.Context, st *store.Store, names []string) ([]savedItem, error) {
	var items []savedItem
	for _, n := range names {
		desc, err := st.Descriptor(ctx, n)
		if err != nil {
			return nil, err
		}
		item := savedItem{ref: desc.Annotations[store.AnnotationRefName]}
		if tag, err := store.NormalizeTag(n); err == nil && item.ref != tag {
			// Found by ID or digest: the image has no name of its own here.
			item.ref = ""
		}
		if desc.MediaType.IsIndex() {
			item.idx, _, err = st.Index(ctx, desc.Digest.String())
		} else {
			item.img, _, err = st.Image(ctx, desc.Digest.String())
		}
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

// saveLayout writes items into the OCI layout at dir, named by
// org.opencontainers.image.ref.name and io.containerd.image.name as
// docker, podman and containerd read them.
func saveLayout(items []savedItem, dir string) error {
	lp, err := layout.FromPath(dir)
	if err != nil {
		if lp, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("creating OCI layout %s: %w", dir, err)
		}
	}
	for _, it := range items {
		var opts []layout.Option
		if it.ref != "" {
			opts = append(opts, layout.WithAnnotations(map[string]string{store.AnnotationRefName: it.ref, containerdNameAnnotation: it.ref}))
		}
		if it.idx != nil {
			err = lp.AppendIndex(it.idx, opts...)
		} else {
			err = lp.AppendImage(it.img, opts...)
		}
		if err != nil {
			return fmt.Errorf("writing OCI layout %s: %w", dir, err)
		}
	}
	return nil
}

// saveDocker writes items in the docker save format; it holds images only.
func saveDocker(ctx context.Context, items []savedItem, w io.Writer) error {
	refs := map[name.Reference]v1.Image{}
	for _, it := range items {
		if it.idx != nil {
			return &UsageError{"--format", FormatDocker, "docker archives hold single-platform images, not image indexes: use --format oci"}
		}
		if it.ref == "" && len(items) == 1 {
			return output.DockerArchive(ctx, it.img, w, "")
		}
		if it.ref == "" {
			return &UsageError{"--format", FormatDocker, "several images in one docker archive need names, not IDs"}
		}
		tag, err := name.NewTag(it.ref)
		if err != nil {
			return fmt.Errorf("image name %q: %w", it.ref, err)
		}
		refs[tag] = it.img
	}
	return tarball.MultiRefWrite(refs, w)
}

// tarDir writes the files under dir as a tar, names relative to dir.
func tarDir(ctx context.Context, dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: fi.ModTime(), Typeflag: tar.TypeReg, Size: fi.Size()}
		if d.IsDir() {
			hdr.Name, hdr.Mode, hdr.Typeflag, hdr.Size = hdr.Name+"/", 0o755, tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing the archive: %w", err)
	}
	return tw.Close()
}

// LoadOptions describe `zbuild load`.
type LoadOptions struct {
	// Root is the store's data root; "" is the default.
	Root string
	// Input is an OCI layout directory, an OCI archive, or a `docker save`
	// archive (plain or gzip-compressed); "" or "-" reads Stdin.
	Input string
	Stdin io.Reader
}

// LoadedImage is one image or index Load stored.
type LoadedImage struct {
	// Digest is its manifest digest in the store.
	Digest string
	// Tags are the names it got ("" when the archive had none).
	Tags []string
}

// Load reads an archive into the store and lists what it stored.
func Load(ctx context.Context, opts LoadOptions) ([]LoadedImage, error) {
	st, unlock, err := openShared(ctx, opts.Root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	tmp, err := st.TempDir("load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	input := opts.Input
	if input == "" || input == "-" {
		if opts.Stdin == nil {
			return nil, &UsageError{"--input", "-", "no archive on stdin"}
		}
		// Archives are read more than once (docker layers are looked up
		// by name), so stdin is spooled to a file first.
		if input, err = spool(opts.Stdin, filepath.Join(tmp, "input.tar")); err != nil {
			return nil, err
		}
	}
	fi, err := os.Stat(input)
	if err != nil {
		return nil, fmt.Errorf("reading archive: %w", err)
	}
	if fi.IsDir() {
		return loadLayout(ctx, st, input)
	}
	if input, err = gunzipIfNeeded(input, filepath.Join(tmp, "input-gunzipped.tar")); err != nil {
		return nil, err
	}
	names, err := tarNames(input)
	if err != nil {
		return nil, fmt.Errorf("reading archive %s: %w", opts.Input, err)
	}
	switch {
	case names["oci-layout"] && names["index.json"]:
		dir := filepath.Join(tmp, "layout")
		if err := untar(ctx, input, dir); err != nil {
			return nil, fmt.Errorf("unpacking OCI archive %s: %w", opts.Input, err)
		}
		return loadLayout(ctx, st, dir)
	case names["manifest.json"]:
		return loadDocker(ctx, st, input)
	}
	return nil, fmt.Errorf("%s is neither an OCI layout (oci-layout, index.json) nor a docker save archive (manifest.json)", opts.Input)
}

// loadLayout stores every image and index the layout's index.json lists.
func loadLayout(ctx context.Context, st *store.Store, dir string) ([]LoadedImage, error) {
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	var out []LoadedImage
	for _, d := range im.Manifests {
		tags := layoutTags(d)
		var h v1.Hash
		switch {
		case d.MediaType.IsIndex():
			idx, err := top.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading index %s: %w", d.Digest, err)
			}
			h, err = st.PutIndex(ctx, idx, tags...)
			if err != nil {
				return nil, fmt.Errorf("storing index %s: %w", d.Digest, err)
			}
		case d.MediaType.IsImage():
			img, err := top.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading image %s: %w", d.Digest, err)
			}
			h, err = st.PutImage(ctx, img, tags...)
			if err != nil {
				return nil, fmt.Errorf("storing image %s: %w", d.Digest, err)
			}
		default:
			continue // attestations and other artifacts are not images
		}
		out = append(out, LoadedImage{Digest: h.String(), Tags: tags})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("OCI layout %s lists no image", dir)
	}
	return out, nil
}

// layoutTags is the name an index.json entry carries: containerd's full
// name, else the OCI ref name when it is a full reference. A bare tag
// ("1.0", as skopeo writes for oci:DIR:1.0) names no repository, so the
// image is stored untagged.
func layoutTags(d v1.Descriptor) []string {
	for _, n := range []string{d.Annotations[containerdNameAnnotation], d.Annotations[store.AnnotationRefName]} {
		if strings.Contains(n, "/") {
			if t, err := store.NormalizeTag(n); err == nil {
				return []string{t}
			}
		}
	}
	return nil
}

// loadDocker stores every image of a docker save archive under its
// RepoTags.
func loadDocker(ctx context.Context, st *store.Store, file string) ([]LoadedImage, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(file) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("reading docker archive manifest.json: %w", err)
	}
	var out []LoadedImage
	for i, entry := range m {
		var tag *name.Tag
		if len(entry.RepoTags) > 0 {
			t, err := name.NewTag(entry.RepoTags[0])
			if err != nil {
				return nil, fmt.Errorf("docker archive entry %d: tag %q: %w", i, entry.RepoTags[0], err)
			}
			tag = &t
		} else if len(m) > 1 {
			return nil, fmt.Errorf("docker archive entry %d has no RepoTags: only single-image archives may be untagged", i)
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, fmt.Errorf("reading docker archive entry %d: %w", i, err)
		}
		h, err := st.PutImage(ctx, img, entry.RepoTags...)
		if err != nil {
			return nil, fmt.Errorf("storing docker archive entry %d: %w", i, err)
		}
		var tags []string
		for _, t := range entry.RepoTags {
			if n, err := store.NormalizeTag(t); err == nil {
				tags = append(tags, n)
			}
		}
		out = append(out, LoadedImage{Digest: h.String(), Tags: tags})
	}
	return out, nil
}

// openShared opens the store at root (default root for "") under a shared
// lock, so that prune leaves alone what is being written or read.
func openShared(ctx context.Context, root string) (*store.Store, func(), error) {
	if root == "" {
		root = store.DefaultRoot()
	}
	st, err := store.Open(root)
	if err != nil {
		return nil, nil, err
	}
	lock, err := st.Shared(ctx)
	if err != nil {
		return nil, nil, err
	}
	return st, func() { lock.Unlock() }, nil
}

func spool(r io.Reader, path string) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return "", fmt.Errorf("reading the archive from stdin: %w", err)
	}
	return path, f.Close()
}

// gunzipIfNeeded returns file, or a decompressed copy at tmp when file is
// gzip-compressed (docker load accepts both).
func gunzipIfNeeded(file, tmp string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(2)
	if err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		return file, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return "", fmt.Errorf("reading gzip archive %s: %w", file, err)
	}
	defer zr.Close()
	return spool(zr, tmp)
}

// tarNames lists the (cleaned) names of a tar's entries.
func tarNames(file string) (map[string]bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		names[path.Clean(strings.TrimPrefix(h.Name, "./"))] = true
	}
}

// untar unpacks the regular files and directories of file into dir,
// refusing names that would escape it; links and devices have no place in
// an OCI layout and are rejected.
func untar(ctx context.Context, file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rel := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("entry %q escapes the archive", h.Name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := writeEntry(dst, tr); err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q has type %q, not a file or directory", h.Name, h.Typeflag)
		}
	}
}

func writeEntry(dst string, r io.Reader) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Layer compressions of Options.Compression.
const (
	CompressionGzip         = "gzip"
	CompressionZstd         = "zstd"
	CompressionUncompressed = "uncompressed"
)

// layerCompression maps Options.Compression to the layer writer's names
// ("" stays the writer's default, gzip).
func layerCompression(c string) layer.Compression {
	if c == CompressionUncompressed {
		return layer.None
	}
	return layer.Compression(c)
}

// CheckImageFormat validates an image format and layer compression pair:
// the docker format has no zstd layer media type.
func CheckImageFormat(format, compression string) error {
	switch format {
	case "", FormatOCI, FormatDocker:
	default:
		return &UsageError{"--format", format, "want oci or docker"}
	}
	switch compression {
	case "", CompressionGzip, CompressionZstd, CompressionUncompressed:
	default:
		return &UsageError{"--compression", compression, "want gzip, zstd or uncompressed"}
	}
	if format == FormatDocker && compression == CompressionZstd {
		return &UsageError{"--compression", compression, "the docker image format has no zstd layers: use --format oci or gzip"}
	}
	return nil
}

// toFormat returns img in the image format asked for: unchanged for OCI
// (what the engine makes) or with docker schema 2 media types. Converting
// keeps every layer blob (and so its digest); the manifest and config
// blobs are new.
func toFormat(img v1.Image, format, compression string) (v1.Image, error) {
	if err := CheckImageFormat(format, compression); err != nil {
		return nil, err
	}
	if format != FormatDocker {
		return img, nil
	}
	if mt, err := img.MediaType(); err == nil && mt == types.DockerManifestSchema2 {
		return img, nil
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing layers: %w", err)
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			return nil, fmt.Errorf("reading layer %d media type: %w", i, err)
		}
		dmt, ok := dockerLayerTypes[mt]
		if !ok {
			return nil, &UsageError{"--format", FormatDocker, fmt.Sprintf("layer %d is %s, which the docker format cannot express (its base image uses it?): use --format oci", i, mt)}
		}
		adds[i] = mutate.Addendum{Layer: dockerLayer{l, dmt}, MediaType: dmt}
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.DockerManifestSchema2), types.DockerConfigJSON)
	out, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, fmt.Errorf("converting to the docker format: %w", err)
	}
	// The original config, not the one Append derived: it has the real
	// history and the same diff_ids.
	if out, err = mutate.ConfigFile(out, cfg); err != nil {
		return nil, fmt.Errorf("converting to the docker format: %w", err)
	}
	return out, nil
}

// dockerLayerTypes maps layer media types to their docker spelling.
var dockerLayerTypes = map[types.MediaType]types.MediaType{
	types.OCILayer:                       types.DockerLayer,
	types.DockerLayer:                    types.DockerLayer,
	types.OCIUncompressedLayer:           types.DockerUncompressedLayer,
	types.DockerUncompressedLayer:        types.DockerUncompressedLayer,
	types.OCIRestrictedLayer:             types.DockerForeignLayer,
	types.OCIUncompressedRestrictedLayer: types.DockerForeignLayer,
	types.DockerForeignLayer:             types.DockerForeignLayer,
}

// dockerLayer is a layer under its docker media type (same bytes).
type dockerLayer struct {
	v1.Layer
	mt types.MediaType
}

func (l dockerLayer) MediaType() (types.MediaType, error) { return l.mt, nil }
