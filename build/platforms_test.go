package build_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
	"github.com/zbuild/zbuild/plan"
)

// foreign is a platform that is not the host's.
func foreign() plan.Platform {
	if runtime.GOARCH == "arm64" {
		return plan.Platform{OS: "linux", Architecture: "amd64"}
	}
	return plan.Platform{OS: "linux", Architecture: "arm64"}
}

// TestBuildMultiPlatform builds an image index for the host and a foreign
// platform: RUN steps run in a stage on the build platform, the final
// stage only copies, so no emulation is needed.
func TestBuildMultiPlatform(t *testing.T) {
	requireBuild(t)
	reg := testenv.StartRegistry(t)
	root := newRoot(t)
	host := plan.Platform{OS: "linux", Architecture: runtime.GOARCH}
	platforms := []plan.Platform{host, foreign()}
	ctxDir := writeContext(t, map[string]string{
		"Dockerfile": "FROM --platform=$BUILDPLATFORM " + base + " AS gen\nARG TARGETARCH\nRUN echo $TARGETARCH > /arch\n" +
			"FROM scratch\nCOPY --from=gen /arch /arch\n",
	})
	ociOut := filepath.Join(t.TempDir(), "multi.tar")
	tag := reg.Ref("multi:1")
	res, err := build.Run(context.Background(), build.Options{
		ContextDir: ctxDir, Root: root, Platforms: platforms, Tags: []string{tag}, Push: true,
		Outputs: []build.Output{{Type: "oci", Dest: ociOut}},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	idx, d, err := st.Index(context.Background(), tag)
	if err != nil || d.String() != res.ImageID {
		t.Fatalf("stored index %s, %v; want %s", d, err, res.ImageID)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("index is invalid: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != len(platforms) {
		t.Fatalf("index has %d entries, want %d", len(im.Manifests), len(platforms))
	}
	for i, p := range platforms {
		desc := im.Manifests[i]
		if desc.Platform == nil || desc.Platform.Architecture != p.Architecture {
			t.Fatalf("entry %d platform %v, want %s", i, desc.Platform, p)
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil || cfg.Architecture != p.Architecture {
			t.Fatalf("entry %d config architecture %q (%v), want %s", i, cfg.Architecture, err, p.Architecture)
		}
		if got := files(t, img)["/arch"].data; got != p.Architecture+"\n" {
			t.Fatalf("entry %d /arch = %q, want %s", i, got, p.Architecture)
		}
	}
	r, err := name.ParseReference(tag)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil || desc.Digest.String() != res.ImageID {
		t.Fatalf("registry has %v (%v), want %s", desc, err, res.ImageID)
	}
	// The oci output holds the index too: load it back.
	loaded, err := build.Load(context.Background(), build.LoadOptions{Root: t.TempDir(), Input: ociOut})
	if err != nil || len(loaded) != 1 || loaded[0].Digest != res.ImageID {
		t.Fatalf("oci output loads as %+v, %v; want %s", loaded, err, res.ImageID)
	}
}

func TestBuildMultiPlatformErrors(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	host := plan.Platform{OS: "linux", Architecture: runtime.GOARCH}
	runFor := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN true\n"})
	copyOnly := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY Dockerfile /\n"})
	_, emulated := os.Stat("/proc/sys/fs/binfmt_misc/qemu-" + map[string]string{"arm64": "aarch64", "amd64": "x86_64"}[foreign().Architecture])
	tests := []struct {
		name    string
		opts    build.Options
		wantErr string
		skip    bool
	}{
		{name: "foreign RUN without emulation", opts: build.Options{ContextDir: runFor, Platforms: []plan.Platform{host, foreign()}},
			wantErr: "cannot run " + foreign().Architecture + " programs", skip: emulated == nil},
		{name: "single-platform output", opts: build.Options{ContextDir: copyOnly, Platforms: []plan.Platform{host, foreign()},
			Outputs: []build.Output{{Type: "docker", Dest: filepath.Join(t.TempDir(), "x.tar")}}}, wantErr: "one platform"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip {
				t.Skip("this host has a binfmt_misc handler for the foreign platform")
			}
			tc.opts.Root = root
			_, err := build.Run(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			var pe *build.PlatformError
			var ue *build.UsageError
			if !errors.As(err, &pe) && !errors.As(err, &ue) {
				t.Fatalf("err is %T, want a typed error", err)
			}
		})
	}
}
