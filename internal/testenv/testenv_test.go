package testenv

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/zbuild/zbuild/internal/testenv/busybox"
)

func TestBusyboxRootfs(t *testing.T) {
	root := BusyboxRootfs(t)
	tests := []struct {
		path  string
		check func(os.FileInfo) bool
		what  string
	}{
		{"bin/busybox", func(fi os.FileInfo) bool { return fi.Mode().IsRegular() && fi.Mode().Perm() == 0o755 }, "executable file"},
		{"bin/sh", func(fi os.FileInfo) bool { return fi.Mode()&os.ModeSymlink != 0 }, "symlink"},
		{"bin/sha256sum", func(fi os.FileInfo) bool { return fi.Mode()&os.ModeSymlink != 0 }, "symlink"},
		{"tmp", func(fi os.FileInfo) bool {
			return fi.IsDir() && fi.Mode()&os.ModeSticky != 0 && fi.Mode().Perm() == 0o777
		}, "1777 dir"},
		{"etc/passwd", func(fi os.FileInfo) bool { return fi.Mode().IsRegular() }, "file"},
	}
	for _, tc := range tests {
		fi, err := os.Lstat(filepath.Join(root, tc.path))
		if err != nil || !tc.check(fi) {
			t.Errorf("%s: %v (mode %v), want %s", tc.path, err, fi.Mode(), tc.what)
		}
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if !strings.Contains(string(passwd), "app:x:1000:1000:") {
		t.Errorf("passwd lacks the app user:\n%s", passwd)
	}
	if os.Geteuid() == 0 {
		// The applets really run inside it.
		out, err := exec.Command("chroot", root, "/bin/sh", "-c", "echo hi | sha256sum | wc -c; id -u app").CombinedOutput()
		if err != nil || strings.Fields(string(out))[0] != "68" || strings.Fields(string(out))[1] != "1000" {
			t.Fatalf("chroot run: %q, %v", out, err)
		}
	}
}

func TestBusyboxImage(t *testing.T) {
	img := BusyboxImage(t)
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	again, err := busybox.Image()
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Fatalf("two builds give %s and %s; want the same digest", d1, d2)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || len(cfg.Config.Cmd) != 1 || cfg.Config.Cmd[0] != "sh" || !strings.HasPrefix(cfg.Config.Env[0], "PATH=") {
		t.Fatalf("config = %+v", cfg.Config)
	}
	if mt, _ := img.MediaType(); mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Fatalf("media type %s", mt)
	}
}

func TestRegistry(t *testing.T) {
	tests := []struct {
		name string
		opts []RegistryOption
	}{
		{name: "plain"},
		{name: "basic auth", opts: []RegistryOption{WithBasicAuth()}},
		{name: "tls and auth", opts: []RegistryOption{WithTLS(), WithBasicAuth()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := StartRegistry(t, tc.opts...)
			ref := PushBusybox(t, reg)
			r, err := name.ParseReference(ref)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Get(r, remote.WithContext(t.Context()),
				remote.WithAuthFromKeychain(reg.Keychain()), remote.WithTransport(reg.Transport()))
			if err != nil {
				t.Fatalf("pulling back %s: %v", ref, err)
			}
			want, _ := BusyboxImage(t).Digest()
			if desc.Digest != want {
				t.Fatalf("pulled %s, pushed %s", desc.Digest, want)
			}
			if reg.User != "" {
				// Without credentials the registry refuses.
				_, err := remote.Get(r, remote.WithContext(t.Context()),
					remote.WithAuth(authn.Anonymous), remote.WithTransport(reg.Transport()))
				var terr *transport.Error
				if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
					t.Fatalf("anonymous pull = %v, want 401", err)
				}
			}
		})
	}
}

func TestRegistryKill(t *testing.T) {
	reg := StartRegistry(t)
	reg.Kill()
	reg.Kill() // idempotent
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+reg.Host+"/v2/", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("registry still answers after Kill")
	}
}
