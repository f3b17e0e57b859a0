package build_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
	"github.com/zbuild/zbuild/progress"
)

// remoteDigest is the digest ref has on its registry, after validating
// the image there.
func remoteDigest(t *testing.T, ref string) string {
	t.Helper()
	return remoteDigestValidated(t, ref, true)
}

// remoteDigestValidated is remoteDigest with validation optional:
// go-containerregistry's validator reads every layer as gzip, so it
// cannot check zstd or uncompressed layers.
func remoteDigestValidated(t *testing.T, ref string, check bool) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("reading %s back: %v", ref, err)
	}
	if err := validate.Image(img); check && err != nil {
		t.Fatalf("pushed image %s is invalid: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestBuildPush builds and pushes in each way a build can push, then pulls
// the image back into an empty store by building FROM it.
func TestBuildPush(t *testing.T) {
	requireBuild(t)
	reg := testenv.StartRegistry(t)
	root := newRoot(t)
	ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo pushed > /pushed\n"})
	tests := []struct {
		name    string
		opts    build.Options
		pushed  []string
		wantErr string
	}{
		{name: "--push pushes every tag", opts: build.Options{Tags: []string{reg.Ref("app:1"), reg.Ref("app:latest")}, Push: true},
			pushed: []string{reg.Ref("app:1"), reg.Ref("app:latest")}},
		{name: "type=image,push=true", opts: build.Options{Outputs: []build.Output{{Type: "image", Attrs: map[string]string{"name": reg.Ref("img:1"), "push": "true"}}}},
			pushed: []string{reg.Ref("img:1")}},
		{name: "type=registry", opts: build.Options{Outputs: []build.Output{{Type: "registry", Attrs: map[string]string{"name": reg.Ref("viareg:1")}}}},
			pushed: []string{reg.Ref("viareg:1")}},
		{name: "type=registry without a name", opts: build.Options{Outputs: []build.Output{{Type: "registry", Attrs: map[string]string{}}}},
			wantErr: "name="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.ContextDir, tc.opts.Root = ctxDir, root
			rec := &recorder{}
			tc.opts.Progress = rec
			res, err := build.Run(context.Background(), tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range tc.pushed {
				if d := remoteDigest(t, ref); d != res.ImageID {
					t.Fatalf("%s has digest %s on the registry, built %s", ref, d, res.ImageID)
				}
			}
			// Each push reports its start and end, and bytes when it
			// uploaded anything.
			var started, finished int
			for _, e := range rec.kinds(progress.Push) {
				if e.Total > 0 && e.Current > e.Total {
					t.Errorf("push progress past the total: %+v", e)
				}
				if strings.HasPrefix(e.Line, "pushing") && e.Total == 0 {
					started++
				}
				if strings.HasPrefix(e.Line, "pushed") {
					finished++
				}
			}
			if started != len(tc.pushed) || finished != len(tc.pushed) {
				t.Errorf("push events: %d started, %d finished, want %d", started, finished, len(tc.pushed))
			}
		})
	}

	// Pull it back into an empty store by building FROM it.
	fresh := t.TempDir()
	ctx2 := writeContext(t, map[string]string{"Dockerfile": "FROM " + reg.Ref("app:1") + "\nRUN cat /pushed\n"})
	res, _ := buildIn(t, build.Options{ContextDir: ctx2, Root: fresh})
	if got := files(t, res.Image)["/pushed"].data; got != "pushed\n" {
		t.Fatalf("/pushed = %q in the image built on the pulled base", got)
	}
	st, err := store.Open(fresh)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := st.Descriptor(context.Background(), reg.Ref("app:1"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != remoteDigest(t, reg.Ref("app:1")) {
		t.Fatalf("pulled base has digest %s, registry %s", desc.Digest, remoteDigest(t, reg.Ref("app:1")))
	}
	checkNoMounts(t, fresh)
}

// TestBuildPushToDeadRegistry: the push fails with an error naming the
// registry, and the image is still in the local store, intact.
func TestBuildPushToDeadRegistry(t *testing.T) {
	requireBuild(t)
	reg := testenv.StartRegistry(t)
	reg.Kill()
	root := newRoot(t)
	ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo x > /x\n"})
	tag := reg.Ref("dead:1")
	_, err := build.Run(context.Background(), build.Options{ContextDir: ctxDir, Root: root, Tags: []string{tag}, Push: true})
	if err == nil || !strings.Contains(err.Error(), reg.Host) {
		t.Fatalf("err = %v, want a push error naming %s", err, reg.Host)
	}
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := st.Image(context.Background(), tag)
	if err != nil {
		t.Fatalf("the built image is not in the store after a failed push: %v", err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("stored image is invalid after a failed push: %v", err)
	}
}

// TestBuildFormatAndCompression checks the media types each --format and
// --compression give, and that a docker-format image pushes and reads
// back valid.
func TestBuildFormatAndCompression(t *testing.T) {
	requireBuild(t)
	reg := testenv.StartRegistry(t)
	root := newRoot(t)
	ctxDir := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo fmt > /fmt\n"})
	tests := []struct {
		format, compression string
		manifest, lastLayer types.MediaType
		wantErr             string
	}{
		{format: "", compression: "", manifest: types.OCIManifestSchema1, lastLayer: types.OCILayer},
		{format: build.FormatOCI, compression: build.CompressionZstd, manifest: types.OCIManifestSchema1, lastLayer: types.OCILayerZStd},
		{format: build.FormatOCI, compression: build.CompressionUncompressed, manifest: types.OCIManifestSchema1, lastLayer: types.OCIUncompressedLayer},
		{format: build.FormatDocker, compression: build.CompressionGzip, manifest: types.DockerManifestSchema2, lastLayer: types.DockerLayer},
		{format: build.FormatDocker, compression: build.CompressionZstd, wantErr: "no zstd"},
	}
	for _, tc := range tests {
		t.Run(tc.format+"/"+tc.compression, func(t *testing.T) {
			tag := reg.Ref("fmt:x" + tc.format + "-" + tc.compression)
			gzipped := tc.compression == "" || tc.compression == build.CompressionGzip
			// NoCache: the step cache does not key on the compression.
			opts := build.Options{ContextDir: ctxDir, Root: root, Tags: []string{tag}, Push: true, NoCache: true, Format: tc.format, Compression: tc.compression}
			res, err := build.Run(context.Background(), opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(res.Image); gzipped && err != nil {
				t.Fatalf("built image is invalid: %v", err)
			}
			if mt, _ := res.Image.MediaType(); mt != tc.manifest {
				t.Fatalf("manifest media type %s, want %s", mt, tc.manifest)
			}
			m, err := res.Image.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Layers[len(m.Layers)-1].MediaType; got != tc.lastLayer {
				t.Fatalf("new layer media type %s, want %s", got, tc.lastLayer)
			}
			if d := remoteDigestValidated(t, tag, gzipped); d != res.ImageID {
				t.Fatalf("registry has %s, built %s", d, res.ImageID)
			}
			if got := files(t, res.Image)["/fmt"].data; got != "fmt\n" {
				t.Fatalf("/fmt = %q", got)
			}
		})
	}
}

// TestPushShortNameToDefaultRegistry pushes a stored image named without a
// registry: --default-registry decides where it goes.
func TestPushShortNameToDefaultRegistry(t *testing.T) {
	reg := testenv.StartRegistry(t)
	root := t.TempDir()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.PutImage(context.Background(), testenv.BusyboxImage(t), "team/app:1")
	if err != nil {
		t.Fatal(err)
	}
	res, err := build.Push(context.Background(), build.PushOptions{Root: root, Image: "team/app:1", Registry: build.RegistryOptions{DefaultRegistry: reg.Host}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != d.String() || remoteDigest(t, reg.Ref("team/app:1")) != d.String() {
		t.Fatalf("pushed %+v, want %s at %s", res, d, reg.Ref("team/app:1"))
	}
}
