package registry

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/zbuild/zbuild/internal/testenv"
)

// TestCustomCA reaches a TLS registry whose CA the client does not trust
// until it is configured, by flag or in a docker-style certs.d directory.
func TestCustomCA(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.WithTLS())
	ref := testenv.PushBusybox(t, reg)
	// The test transport resolves the registry's name; its CA is removed
	// so that only our configuration can make it trusted.
	untrusting := reg.Transport().(*http.Transport).Clone()
	untrusting.TLSClientConfig = nil
	certsDir := t.TempDir()
	ca, err := os.ReadFile(reg.CACertPath)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(certsDir, reg.TLSHost, "ca.crt"), string(ca))
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "untrusted", opts: Options{CertsDir: "-"}, wantErr: "certificate"},
		{name: "CA file flag", opts: Options{CACertFiles: []string{reg.CACertPath}, CertsDir: "-"}},
		{name: "certs.d directory", opts: Options{CertsDir: certsDir}},
		{name: "insecure skips verification", opts: Options{Insecure: []string{reg.TLSHost}, CertsDir: "-"}},
		{name: "not a PEM file", opts: Options{CACertFiles: []string{filepath.Join(certsDir, reg.TLSHost)}}, wantErr: "CA certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Transport, tc.opts.Retry = untrusting, FastRetry
			_, _, err := Resolve(context.Background(), ref, v1.Platform{}, tc.opts)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Resolve = %v, want an error about %q", err, tc.wantErr)
			}
		})
	}
}

func TestMirrorsAndDefaultRegistry(t *testing.T) {
	mirror := memRegistry(t)
	img := platformImage(t, v1.Platform{OS: "linux", Architecture: "amd64"})
	for _, ref := range []string{mirror + "/library/busybox:latest", mirror + "/team/app:1"} {
		if err := remote.Write(mustRef(t, ref), img); err != nil {
			t.Fatal(err)
		}
	}
	want := digestOf(t, img)
	// 127.0.0.1:1 refuses connections: a broken mirror is skipped.
	dead := "127.0.0.1:1"
	tests := []struct {
		name string
		ref  string
		opts Options
	}{
		{name: "docker hub short name through a mirror", ref: "busybox", opts: Options{Mirrors: []string{mirror}}},
		{name: "dead mirror skipped", ref: "docker.io/library/busybox:latest", opts: Options{Mirrors: []string{dead, mirror}}},
		{name: "default registry for short names", ref: "team/app:1", opts: Options{DefaultRegistry: mirror}},
		{name: "default registry leaves full names alone", ref: mirror + "/team/app:1", opts: Options{DefaultRegistry: "elsewhere.test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Retry = FastRetry
			if d := resolveDigest(t, tc.ref, tc.opts); d != want {
				t.Fatalf("digest = %s, want %s", d, want)
			}
		})
	}
}
