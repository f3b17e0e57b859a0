package output

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/pkg/archive"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// refAnnotation names an image inside an OCI layout.
const refAnnotation = "org.opencontainers.image.ref.name"

// OCILayoutDir writes img into the OCI layout at dir (created or extended),
// annotated with ref when given.
func OCILayoutDir(ctx context.Context, img v1.Image, dir, ref string) error {
	lp, err := layout.FromPath(dir)
	if err != nil {
		if lp, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("creating OCI layout %s: %w", dir, err)
		}
	}
	var opts []layout.Option
	if ref != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{refAnnotation: ref}))
	}
	if err := lp.AppendImage(img, opts...); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	return nil
}

// OCIArchive writes img as a tar of an OCI layout (what `docker buildx
// build --output type=oci` writes), streaming blobs from the store.
func OCIArchive(ctx context.Context, img v1.Image, w io.Writer, ref string) error {
	tw := tar.NewWriter(w)
	addFile := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := addFile("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/sha256/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	seen := map[v1.Hash]bool{}
	for _, l := range layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, err := l.Digest()
		if err != nil {
			return err
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		size, err := l.Size()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		err = tw.WriteHeader(&tar.Header{Name: "blobs/sha256/" + d.Hex, Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
		if err == nil {
			_, err = io.Copy(tw, rc)
		}
		rc.Close()
		if err != nil {
			return fmt.Errorf("writing layer %s: %w", d, err)
		}
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if err := addFile("blobs/sha256/"+cfgName.Hex, cfg); err != nil {
		return err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if err := addFile("blobs/sha256/"+digest.Hex, manifest); err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	desc := v1.Descriptor{MediaType: mt, Size: int64(len(manifest)), Digest: digest}
	if ref != "" {
		desc.Annotations = map[string]string{refAnnotation: ref}
	}
	index, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{desc}})
	if err != nil {
		return err
	}
	if err := addFile("index.json", index); err != nil {
		return err
	}
	return tw.Close()
}

// DockerArchive writes img in the `docker save` format, loadable by
// `docker load` and `podman load`, tagged ref when given.
func DockerArchive(ctx context.Context, img v1.Image, w io.Writer, ref string) error {
	refs := map[name.Reference]v1.Image{}
	if ref != "" {
		r, err := name.ParseReference(ref)
		if err != nil {
			return fmt.Errorf("output name %q: %w", ref, err)
		}
		refs[r] = img
	} else {
		d, err := img.Digest()
		if err != nil {
			return err
		}
		// Untagged images are written by digest (docker load then shows
		// them with <none> tags).
		r, err := name.NewDigest("zbuild/image@" + d.String())
		if err != nil {
			return err
		}
		refs[r] = img
	}
	return tarball.MultiRefWrite(refs, w)
}

// RootfsTar writes the image's flattened root file system as a tar.
func RootfsTar(ctx context.Context, img v1.Image, w io.Writer) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	_, err := io.Copy(w, ctxReader{ctx, rc})
	return err
}

// RootfsDir extracts the image's flattened root file system into dir.
func RootfsDir(ctx context.Context, img v1.Image, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	if _, err := archive.Apply(ctx, dir, rc); err != nil {
		return fmt.Errorf("extracting into %s: %w", dir, err)
	}
	return nil
}

// ToFile runs write into path atomically ("-" is stdout): a temp file in
// the same directory is renamed over path only when write succeeded.
func ToFile(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// IsTarPath reports whether dest names an archive rather than a directory
// for type=oci: an existing directory or a path ending in "/" is a layout
// directory, anything else a tar file.
func IsTarPath(dest string) bool {
	if strings.HasSuffix(dest, "/") {
		return false
	}
	fi, err := os.Stat(dest)
	return err != nil || !fi.IsDir()
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
