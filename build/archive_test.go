package build_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
)

// archiveStore makes a store with busybox (as localhost/busybox:latest)
// and a two-platform index (as localhost/multi:1).
func archiveStore(t *testing.T) (root string, img, idx v1.Hash) {
	t.Helper()
	root = t.TempDir()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if img, err = st.PutImage(ctx, testenv.BusyboxImage(t), base); err != nil {
		t.Fatal(err)
	}
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		ri, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := ri.ConfigFile()
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture = "linux", arch
		if ri, err = mutate.ConfigFile(ri, cfg); err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: ri, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	index := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if idx, err = st.PutIndex(ctx, index, "localhost/multi:1"); err != nil {
		t.Fatal(err)
	}
	return root, img, idx
}

// configDigest is the image ID (config digest) of ref in the store at root,
// after validating the image.
func configDigest(t *testing.T, root, ref string) (manifest, config v1.Hash) {
	t.Helper()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	img, d, err := st.Image(context.Background(), ref)
	if err != nil {
		t.Fatalf("loaded store has no %s: %v", ref, err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("loaded image %s is invalid: %v", ref, err)
	}
	c, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d, c
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	root, imgDigest, idxDigest := archiveStore(t)
	_, cfgDigest := configDigest(t, root, base)
	tmp := t.TempDir()
	tests := []struct {
		name       string
		images     []string
		format     string
		output     string
		keepsDigst bool // manifest digests survive (OCI); docker keeps config digests only
	}{
		{name: "oci archive", images: []string{base}, output: "img.tar", keepsDigst: true},
		{name: "oci layout dir", images: []string{base}, output: "layout/", keepsDigst: true},
		{name: "docker archive", images: []string{base}, format: build.FormatDocker, output: "docker.tar"},
		{name: "oci archive with an index", images: []string{base, "localhost/multi:1"}, output: "both.tar", keepsDigst: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(tmp, tc.output)
			if strings.HasSuffix(tc.output, "/") {
				out += "/"
			}
			if err := build.Save(ctx, build.SaveOptions{Root: root, Images: tc.images, Format: tc.format, Output: out}); err != nil {
				t.Fatalf("Save: %v", err)
			}
			fresh := t.TempDir()
			loaded, err := build.Load(ctx, build.LoadOptions{Root: fresh, Input: out})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(loaded) != len(tc.images) {
				t.Fatalf("loaded %v, want %d images", loaded, len(tc.images))
			}
			m, c := configDigest(t, fresh, base)
			if c != cfgDigest {
				t.Fatalf("config digest %s after the round trip, want %s", c, cfgDigest)
			}
			if tc.keepsDigst && m != imgDigest {
				t.Fatalf("manifest digest %s after the round trip, want %s", m, imgDigest)
			}
			if len(tc.images) > 1 {
				st, _ := store.Open(fresh)
				idx, d, err := st.Index(ctx, "localhost/multi:1")
				if err != nil || d != idxDigest {
					t.Fatalf("index after the round trip = %s, %v; want %s", d, err, idxDigest)
				}
				if err := validate.Index(idx); err != nil {
					t.Fatalf("loaded index is invalid: %v", err)
				}
			}
		})
	}
}

// TestLoadForeignArchives loads archives made by other tools: skopeo's
// docker-archive, and a gzip-compressed docker archive on stdin.
func TestLoadForeignArchives(t *testing.T) {
	skopeo := testenv.RequiresBinary(t, "skopeo")
	ctx := context.Background()
	root, _, _ := archiveStore(t)
	_, cfgDigest := configDigest(t, root, base)
	tmp := t.TempDir()
	ociTar := filepath.Join(tmp, "img.tar")
	if err := build.Save(ctx, build.SaveOptions{Root: root, Images: []string{base}, Output: ociTar}); err != nil {
		t.Fatal(err)
	}
	dockerTar := filepath.Join(tmp, "skopeo-docker.tar")
	cmd := exec.Command(skopeo, "--insecure-policy", "copy", "oci-archive:"+ociTar, "docker-archive:"+dockerTar+":localhost/from-skopeo:1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	data, err := os.ReadFile(dockerTar)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	tests := []struct {
		name  string
		input string
		stdin []byte
	}{
		{name: "skopeo docker-archive", input: dockerTar},
		{name: "gzip docker archive on stdin", input: "-", stdin: gz.Bytes()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fresh := t.TempDir()
			loaded, err := build.Load(ctx, build.LoadOptions{Root: fresh, Input: tc.input, Stdin: bytes.NewReader(tc.stdin)})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(loaded) != 1 || len(loaded[0].Tags) != 1 || loaded[0].Tags[0] != "localhost/from-skopeo:1" {
				t.Fatalf("loaded %+v, want localhost/from-skopeo:1", loaded)
			}
			if _, c := configDigest(t, fresh, "localhost/from-skopeo:1"); c != cfgDigest {
				t.Fatalf("config digest %s, want %s", c, cfgDigest)
			}
		})
	}
}

func TestSaveLoadErrors(t *testing.T) {
	ctx := context.Background()
	root, _, _ := archiveStore(t)
	tmp := t.TempDir()
	notArchive := filepath.Join(tmp, "plain.tar")
	writeTar(t, notArchive, map[string]string{"hello.txt": "hi"})
	escaping := filepath.Join(tmp, "escape.tar")
	writeTar(t, escaping, map[string]string{"oci-layout": "{}", "index.json": "{}", "../../evil": "x"})
	var ue *build.UsageError
	tests := []struct {
		name    string
		run     func() error
		wantErr string
		usage   bool
	}{
		{name: "docker format of an index", run: func() error {
			return build.Save(ctx, build.SaveOptions{Root: root, Images: []string{"localhost/multi:1"}, Format: build.FormatDocker, Output: filepath.Join(tmp, "x.tar")})
		}, wantErr: "image indexes", usage: true},
		{name: "unknown format", run: func() error {
			return build.Save(ctx, build.SaveOptions{Root: root, Images: []string{base}, Format: "zip", Output: filepath.Join(tmp, "x.tar")})
		}, wantErr: "oci or docker", usage: true},
		{name: "unknown image", run: func() error {
			return build.Save(ctx, build.SaveOptions{Root: root, Images: []string{"nothing:here"}, Output: filepath.Join(tmp, "x.tar")})
		}, wantErr: "not found"},
		{name: "not an image archive", run: func() error {
			_, err := build.Load(ctx, build.LoadOptions{Root: t.TempDir(), Input: notArchive})
			return err
		}, wantErr: "neither an OCI layout"},
		{name: "entry escaping the archive", run: func() error {
			_, err := build.Load(ctx, build.LoadOptions{Root: t.TempDir(), Input: escaping})
			return err
		}, wantErr: "escapes the archive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.usage != errors.As(err, &ue) {
				t.Fatalf("err = %T, usage error wanted: %v", err, tc.usage)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(tmp, "x.tar")); !os.IsNotExist(err) {
		t.Fatalf("a failed save left x.tar behind (%v)", err)
	}
}

func writeTar(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(data))
	}
	tw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
