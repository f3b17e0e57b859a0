package registry

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/internal/testenv"
)

// isolateCredentials points every credential location into a fresh
// directory and returns it.
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

func TestLoginLogout(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartRegistry(t, testenv.WithBasicAuth(), testenv.WithTLS())
	home := isolateCredentials(t)
	cfgPath := filepath.Join(home, "docker", "config.json")
	opts := Options{Transport: reg.Transport(), Retry: FastRetry}

	_, err := Login(ctx, reg.TLSHost, reg.User, "wrong-password", opts)
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Registry != reg.TLSHost {
		t.Fatalf("Login with a wrong password = %v, want an *AuthError for %s", err, reg.TLSHost)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("error shows the password: %v", err)
	}
	if _, err := os.Stat(cfgPath); !os.IsNotExist(err) {
		t.Fatalf("a refused login wrote %s (%v)", cfgPath, err)
	}

	where, err := Login(ctx, "https://"+reg.TLSHost+"/v2/", reg.User, reg.Password, opts)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if where != cfgPath {
		t.Fatalf("Login stored into %q, want %q", where, cfgPath)
	}
	fi, err := os.Stat(cfgPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v, %v; want mode 0600", fi, err)
	}
	var cfg struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	data, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(data, &cfg); err != nil || cfg.Auths[reg.TLSHost].Auth == "" {
		t.Fatalf("config file %s has no auth for %s: %s (%v)", cfgPath, reg.TLSHost, data, err)
	}
	if src := CredentialSource(reg.TLSHost); src != cfgPath {
		t.Fatalf("CredentialSource = %q, want %q", src, cfgPath)
	}
	// The default keychain now finds them: push with no Keychain set.
	if _, err := Push(ctx, randomImage(t), reg.Ref("after-login:1"), opts, PushOptions{}); err != nil {
		t.Fatalf("Push after login: %v", err)
	}

	removed, _, err := Logout(reg.TLSHost)
	if err != nil || !removed {
		t.Fatalf("Logout = %v, %v; want removed", removed, err)
	}
	if removed, _, err := Logout(reg.TLSHost); err != nil || removed {
		t.Fatalf("second Logout = %v, %v; want nothing removed", removed, err)
	}
	if !strings.HasPrefix(CredentialSource(reg.TLSHost), "none found") {
		t.Fatalf("CredentialSource after logout = %q", CredentialSource(reg.TLSHost))
	}
}

// TestDefaultKeychain resolves credentials from each place docker and
// podman keep them, including a real credential helper program.
func TestDefaultKeychain(t *testing.T) {
	const host = "registry.example.test:5000"
	tests := []struct {
		name       string
		setup      func(t *testing.T, home string)
		wantUser   string
		wantSource string // substring
	}{
		{name: "docker config auths", setup: func(t *testing.T, home string) {
			writeAuthFile(t, filepath.Join(home, "docker", "config.json"), host, "docker-user", "pw")
		}, wantUser: "docker-user", wantSource: "docker/config.json"},
		{name: "podman auth.json in XDG_RUNTIME_DIR", setup: func(t *testing.T, home string) {
			t.Setenv("XDG_RUNTIME_DIR", filepath.Join(home, "run"))
			writeAuthFile(t, filepath.Join(home, "run", "containers", "auth.json"), host, "podman-user", "pw")
		}, wantUser: "podman-user", wantSource: "run/containers/auth.json"},
		{name: "docker config without the host falls back to podman", setup: func(t *testing.T, home string) {
			writeAuthFile(t, filepath.Join(home, "docker", "config.json"), "other.test", "x", "y")
			t.Setenv("XDG_RUNTIME_DIR", filepath.Join(home, "run"))
			writeAuthFile(t, filepath.Join(home, "run", "containers", "auth.json"), host, "podman-user", "pw")
		}, wantUser: "podman-user", wantSource: "run/containers/auth.json"},
		{name: "credential helper", setup: func(t *testing.T, home string) {
			writeHelper(t, home, "zbtest", "helper-user")
			writeFile(t, filepath.Join(home, "docker", "config.json"), `{"credHelpers":{"`+host+`":"zbtest"}}`)
		}, wantUser: "helper-user", wantSource: "docker-credential-zbtest"},
		{name: "credsStore", setup: func(t *testing.T, home string) {
			writeHelper(t, home, "zbstore", "store-user")
			writeFile(t, filepath.Join(home, "docker", "config.json"), `{"credsStore":"zbstore"}`)
		}, wantUser: "store-user", wantSource: "docker-credential-zbstore"},
		{name: "nothing", setup: func(*testing.T, string) {}, wantSource: "none found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := isolateCredentials(t)
			tc.setup(t, home)
			reg, err := name.NewRegistry(host)
			if err != nil {
				t.Fatal(err)
			}
			auth, err := DefaultKeychain().Resolve(reg)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := auth.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != tc.wantUser {
				t.Fatalf("user = %q, want %q", cfg.Username, tc.wantUser)
			}
			if tc.wantUser == "" && auth != authn.Anonymous {
				t.Fatalf("auth = %v, want anonymous", auth)
			}
			if src := CredentialSource(host); !strings.Contains(src, tc.wantSource) {
				t.Fatalf("CredentialSource = %q, want it to contain %q", src, tc.wantSource)
			}
		})
	}
}

// writeHelper installs a docker-credential-NAME program on PATH that
// answers "get" with user and a fixed secret, as real helpers do.
func writeHelper(t *testing.T, home, helper, user string) {
	t.Helper()
	bin := filepath.Join(home, "bin")
	script := "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"" + user + "\",\"Secret\":\"s3cret\"}' \"$server\"\n"
	writeFile(t, filepath.Join(bin, "docker-credential-"+helper), script)
	if err := os.Chmod(filepath.Join(bin, "docker-credential-"+helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// resolveDigest resolves ref with opts and fails the test on error.
func resolveDigest(t *testing.T, ref string, opts Options) v1.Hash {
	t.Helper()
	_, d, err := Resolve(context.Background(), ref, v1.Platform{}, opts)
	if err != nil {
		t.Fatalf("Resolve %s: %v", ref, err)
	}
	return d
}
