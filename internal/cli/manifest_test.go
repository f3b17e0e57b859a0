package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
)

// archImage is a small random image whose config says linux/arch.
func archImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

func TestManifestCommands(t *testing.T) {
	reg := testenv.StartRegistry(t)
	root := t.TempDir()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	amd, arm, s390 := archImage(t, "amd64"), archImage(t, "arm64"), archImage(t, "s390x")
	for tag, img := range map[string]v1.Image{"localhost/app:amd64": amd, "localhost/app:arm64": arm} {
		if _, err := st.PutImage(context.Background(), img, tag); err != nil {
			t.Fatal(err)
		}
	}
	remoteRef := reg.Ref("base:s390x")
	r, _ := name.ParseReference(remoteRef)
	if err := remote.Write(r, s390); err != nil {
		t.Fatal(err)
	}
	list := "localhost/app:1"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "create with an image", args: []string{"manifest", "create", list, "localhost/app:amd64"}, wantOut: "sha256:"},
		{name: "create again", args: []string{"manifest", "create", list}, wantCode: ExitUsage, wantErr: "already exists"},
		{name: "add from the store", args: []string{"manifest", "add", list, "localhost/app:arm64"}, wantOut: "sha256:"},
		{name: "add from a registry with a platform", args: []string{"manifest", "add", "--platform", "linux/s390x", list, remoteRef}, wantOut: "sha256:"},
		{name: "add to a missing list", args: []string{"manifest", "add", "localhost/none:1", "localhost/app:arm64"}, wantCode: ExitFailed, wantErr: "manifest create"},
		{name: "add to an image", args: []string{"manifest", "add", "localhost/app:amd64", "localhost/app:arm64"}, wantCode: ExitUsage, wantErr: "not a manifest list"},
		{name: "inspect", args: []string{"manifest", "inspect", list}, wantOut: `"architecture": "s390x"`},
		{name: "push", args: []string{"manifest", "push", list, reg.Ref("app:1")}, wantOut: reg.Ref("app:1") + "@sha256:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", append([]string{"--root", root}, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.wantOut) || !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("stdout %q (want %q), stderr %q (want %q)", stdout, tc.wantOut, stderr, tc.wantErr)
			}
		})
	}
	_, stdout, _ := run(t, "", "--root", root, "manifest", "inspect", list)
	var im v1.IndexManifest
	if err := json.Unmarshal([]byte(stdout), &im); err != nil || len(im.Manifests) != 3 {
		t.Fatalf("list has %d entries (%v), want 3:\n%s", len(im.Manifests), err, stdout)
	}
	ref, _ := name.ParseReference(reg.Ref("app:1"))
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("pushed index is invalid: %v", err)
	}
	for arch, img := range map[string]v1.Image{"amd64": amd, "arm64": arm, "s390x": s390} {
		desc, err := remote.Get(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := desc.Image()
		if err != nil {
			t.Fatal(err)
		}
		gd, _ := got.Digest()
		want, _ := img.Digest()
		if gd != want {
			t.Fatalf("%s in the pushed list is %s, want %s", arch, gd, want)
		}
	}
}
