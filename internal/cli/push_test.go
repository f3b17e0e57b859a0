package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
)

// storeWithBusybox makes a store holding busybox as localhost/busybox.
func storeWithBusybox(t *testing.T) (root, digest string) {
	t.Helper()
	root = t.TempDir()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.PutImage(context.Background(), testenv.BusyboxImage(t), "localhost/busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	return root, d.String()
}

// isolateCredentials points every credential location into a temp dir.
func isolateCredentials(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, "docker"))
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	return home
}

func TestPushLoginLogout(t *testing.T) {
	root, digest := storeWithBusybox(t)
	open := testenv.StartRegistry(t)
	locked := testenv.StartRegistry(t, testenv.WithBasicAuth())
	home := isolateCredentials(t)
	cfg := filepath.Join(home, "docker", "config.json")

	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
	}{
		{name: "push to an open registry", args: []string{"--root", root, "push", "localhost/busybox", open.Ref("team/busybox:1")},
			wantOut: open.Ref("team/busybox:1") + "@" + digest},
		{name: "push by ID needs a destination", args: []string{"--root", root, "push", digest},
			wantCode: ExitUsage, wantErr: "needs a destination"},
		{name: "push of an unknown image", args: []string{"--root", root, "push", "nothing:here", open.Ref("x:1")},
			wantCode: ExitFailed, wantErr: "not found"},
		{name: "push without credentials", args: []string{"--root", root, "push", "localhost/busybox", locked.Ref("app:1")},
			wantCode: ExitFailed, wantErr: "authentication to registry " + locked.Host + " failed (credentials: none found (looked in " + cfg},
		{name: "login with a wrong password", stdin: "not-it\n", args: []string{"login", "-u", locked.User, "--password-stdin", locked.Host},
			wantCode: ExitFailed, wantErr: "authentication to registry " + locked.Host + " failed"},
		{name: "login without user", args: []string{"login", locked.Host}, wantCode: ExitUsage, wantErr: "-u USER"},
		{name: "login", stdin: locked.Password + "\n", args: []string{"login", "-u", locked.User, "--password-stdin", locked.Host},
			wantOut: "credentials stored in " + cfg},
		{name: "push after login", args: []string{"--root", root, "push", "localhost/busybox", locked.Ref("app:1")},
			wantOut: locked.Ref("app:1") + "@" + digest},
		{name: "logout", args: []string{"logout", locked.Host}, wantOut: "Removed the credentials for " + locked.Host},
		{name: "logout again", args: []string{"logout", locked.Host}, wantOut: "Not logged in"},
		{name: "push after logout", args: []string{"--root", root, "push", "localhost/busybox", locked.Ref("app:2")},
			wantCode: ExitFailed, wantErr: "zbuild login " + locked.Host},
		{name: "push with too many arguments", args: []string{"push", "a", "b", "c"}, wantCode: ExitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.stdin, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.wantOut) {
				t.Fatalf("stdout %q does not contain %q", stdout, tc.wantOut)
			}
			if !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("stderr %q does not contain %q", stderr, tc.wantErr)
			}
			if strings.Contains(stdout+stderr, locked.Password) {
				t.Fatal("the password was printed")
			}
		})
	}
	if fi, err := os.Stat(cfg); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v; want mode 0600", cfg, fi, err)
	}
	// What was pushed is a valid image with the store's digest.
	ref, err := name.ParseReference(open.Ref("team/busybox:1"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("pushed image is invalid: %v", err)
	}
}
