package busybox

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DefaultPath is the PATH of the image config.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Image builds the OCI image of the root file system: one gzip layer, a
// linux config for the host's architecture (the architecture of the busybox
// binary) with PATH set and Cmd ["sh"], all times at Epoch. The same binary
// always gives the same digest.
func Image() (v1.Image, error) {
	entries, err := Entries()
	if err != nil {
		return nil, err
	}
	core, err := layerBlob(entries)
	if err != nil {
		return nil, err
	}
	layer, err := partial.CompressedToLayer(core)
	if err != nil {
		return nil, fmt.Errorf("making busybox layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: Epoch},
			CreatedBy: "zbuild testenv: busybox from " + BinaryPath,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("making busybox image: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("making busybox image: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS = "linux"
	cfg.Architecture = runtime.GOARCH
	cfg.Created = v1.Time{Time: Epoch}
	cfg.Config.Env = []string{"PATH=" + DefaultPath}
	cfg.Config.Cmd = []string{"sh"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("making busybox image: %w", err)
	}
	return img, nil
}

// gzipLayer is a finished gzip layer held in memory. It is its own minimal
// core (partial.CompressedLayer plus DiffID) rather than a tarball layer,
// whose descriptor carries an empty annotations map that makes
// validate.Image report a manifest mismatch.
type gzipLayer struct {
	blob           []byte
	digest, diffID v1.Hash
}

func (l *gzipLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *gzipLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *gzipLayer) Size() (int64, error)                { return int64(len(l.blob)), nil }
func (l *gzipLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *gzipLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.blob)), nil
}

// layerBlob writes the entries as a gzip-compressed tar, hashing both forms.
func layerBlob(entries []Entry) (*gzipLayer, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tarDigest := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, tarDigest))
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.Path,
			Mode:    int64(e.Mode.Perm()),
			Uid:     e.UID,
			Gid:     e.GID,
			ModTime: Epoch,
			Format:  tar.FormatPAX,
		}
		if e.Mode&fs.ModeSticky != 0 {
			hdr.Mode |= 0o1000 // c_ISVTX
		}
		switch {
		case e.Mode.IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case e.Mode&fs.ModeSymlink != 0:
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = e.Link
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing busybox layer: %w", err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				return nil, fmt.Errorf("writing busybox layer: %w", err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("writing busybox layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("writing busybox layer: %w", err)
	}
	digest, _, err := v1.SHA256(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, fmt.Errorf("hashing busybox layer: %w", err)
	}
	diffID := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(tarDigest.Sum(nil))}
	return &gzipLayer{blob: buf.Bytes(), digest: digest, diffID: diffID}, nil
}
