package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
)

// countingTransport counts requests by kind and can fail the first few.
type countingTransport struct {
	next      http.RoundTripper
	failFirst int32 // answer 503 to this many requests
	mu        sync.Mutex
	blobs     int
	manifests int
	calls     atomic.Int32
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.calls.Add(1) <= c.failFirst {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
			Body: http.NoBody, Header: http.Header{}, Request: req}, nil
	}
	c.mu.Lock()
	switch {
	case strings.Contains(req.URL.Path, "/blobs/"):
		c.blobs++
	case strings.Contains(req.URL.Path, "/manifests/"):
		c.manifests++
	}
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

// memRegistry serves go-containerregistry's in-memory registry on
// 127.0.0.1 and returns its host.
func memRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(nilLogger())))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func platformImage(t *testing.T, p v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t *testing.T, x interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestResolvePlatform(t *testing.T) {
	ctx := context.Background()
	host := memRegistry(t)
	amd := platformImage(t, v1.Platform{OS: "linux", Architecture: "amd64"})
	arm := platformImage(t, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	if err := remote.WriteIndex(mustRef(t, host+"/multi:1"), idx); err != nil {
		t.Fatal(err)
	}
	single := platformImage(t, v1.Platform{OS: "linux", Architecture: "riscv64"})
	if err := remote.Write(mustRef(t, host+"/single:1"), single); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		ref      string
		platform v1.Platform
		want     v1.Hash
		wantErr  bool
	}{
		{name: "amd64 from index", ref: "multi:1", platform: v1.Platform{OS: "linux", Architecture: "amd64"}, want: digestOf(t, amd)},
		{name: "arm64 without variant", ref: "multi:1", platform: v1.Platform{OS: "linux", Architecture: "arm64"}, want: digestOf(t, arm)},
		{name: "arm64 with variant", ref: "multi:1", platform: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, want: digestOf(t, arm)},
		{name: "by digest", ref: "multi@" + digestOf(t, idx).String(), platform: v1.Platform{OS: "linux", Architecture: "amd64"}, want: digestOf(t, amd)},
		{name: "missing platform", ref: "multi:1", platform: v1.Platform{OS: "linux", Architecture: "s390x"}, wantErr: true},
		{name: "single image any platform", ref: "single:1", platform: v1.Platform{OS: "linux", Architecture: "amd64"}, want: digestOf(t, single)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, d, err := Resolve(ctx, host+"/"+tc.ref, tc.platform, Options{Retry: FastRetry})
			if tc.wantErr {
				var pe *store.PlatformError
				if !errors.As(err, &pe) || len(pe.Available) != 2 {
					t.Fatalf("err = %v, want a PlatformError listing 2 platforms", err)
				}
				for _, want := range []string{"linux/amd64", "linux/arm64/v8", host} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %s", err, want)
					}
				}
				return
			}
			if err != nil || d != tc.want {
				t.Fatalf("Resolve = %s, %v; want %s", d, err, tc.want)
			}
			if err := validate.Image(img); err != nil {
				t.Fatalf("validate.Image: %v", err)
			}
		})
	}
}

func TestResolveIsLazy(t *testing.T) {
	ctx := context.Background()
	host := memRegistry(t)
	img := platformImage(t, v1.Platform{OS: "linux", Architecture: "amd64"})
	if err := remote.Write(mustRef(t, host+"/lazy:1"), img); err != nil {
		t.Fatal(err)
	}
	ct := &countingTransport{next: http.DefaultTransport}
	got, _, err := Resolve(ctx, host+"/lazy:1", v1.Platform{}, Options{Transport: ct})
	if err != nil {
		t.Fatal(err)
	}
	if ct.blobs != 0 {
		t.Fatalf("Resolve fetched %d blobs, want none", ct.blobs)
	}
	layers, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := got.ConfigFile(); err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if ct.blobs != 2 {
		t.Fatalf("config and one layer fetched %d blobs, want 2", ct.blobs)
	}
}

func TestResolveRetries(t *testing.T) {
	ctx := context.Background()
	host := memRegistry(t)
	img := platformImage(t, v1.Platform{OS: "linux", Architecture: "amd64"})
	if err := remote.Write(mustRef(t, host+"/flaky:1"), img); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		failFirst int32
		wantErr   bool
	}{
		{name: "no failures", failFirst: 0},
		{name: "two 503s then success", failFirst: 2},
		{name: "down for good", failFirst: 1000, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct := &countingTransport{next: http.DefaultTransport, failFirst: tc.failFirst}
			_, d, err := Resolve(ctx, host+"/flaky:1", v1.Platform{}, Options{Transport: ct, Retry: FastRetry})
			if tc.wantErr {
				var terr *transport.Error
				if !errors.As(err, &terr) || terr.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("err = %v, want a 503 transport.Error", err)
				}
				return
			}
			if err != nil || d != digestOf(t, img) {
				t.Fatalf("Resolve = %s, %v", d, err)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	ctx := context.Background()
	host := memRegistry(t)
	_, _, err := Resolve(ctx, host+"/nothing:here", v1.Platform{}, Options{Retry: FastRetry})
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
		t.Fatalf("err = %v, want a 404 transport.Error", err)
	}
	if !strings.Contains(err.Error(), host+"/nothing:here") || !strings.Contains(err.Error(), "registry "+host) {
		t.Errorf("error %q does not name the reference and registry", err)
	}
	if _, _, err := Resolve(ctx, "Not A Ref", v1.Platform{}, Options{}); err == nil {
		t.Error("bad reference accepted")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := Resolve(cancelled, host+"/x:1", v1.Platform{}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Resolve = %v, want context.Canceled", err)
	}
}

// TestResolveInsecureHost reaches a plain-HTTP registry under a name that
// is not a loopback address, which needs Options.Insecure.
func TestResolveInsecureHost(t *testing.T) {
	ctx := context.Background()
	host := memRegistry(t)
	img := platformImage(t, v1.Platform{OS: "linux", Architecture: "amd64"})
	if err := remote.Write(mustRef(t, host+"/app:1"), img); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(host)
	alias := "registry.internal.test:" + port
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == alias {
			addr = host
		}
		return dialer.DialContext(ctx, network, addr)
	}
	tests := []struct {
		name     string
		insecure []string
		wantErr  bool
	}{
		{name: "listed", insecure: []string{alias}},
		{name: "not listed", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, d, err := Resolve(ctx, alias+"/app:1", v1.Platform{}, Options{Insecure: tc.insecure, Transport: tr, Retry: FastRetry})
			if tc.wantErr {
				if err == nil {
					t.Fatal("HTTPS to a plain-HTTP registry succeeded")
				}
				return
			}
			if err != nil || d != digestOf(t, img) {
				t.Fatalf("Resolve = %s, %v", d, err)
			}
		})
	}
}

// writeAuthFile writes a Docker-style auths file for host.
func writeAuthFile(t *testing.T, path, host, user, password string) {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	body := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestResolveCredentials pulls from a real registry with basic auth, with
// credentials found by the default keychain in each supported place.
func TestResolveCredentials(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.WithBasicAuth())
	ref := testenv.PushBusybox(t, reg)
	want := digestOf(t, testenv.BusyboxImage(t))
	tests := []struct {
		name    string
		setup   func(t *testing.T, home string)
		wantErr int
	}{
		{name: "docker config in DOCKER_CONFIG", setup: func(t *testing.T, home string) {
			dir := filepath.Join(home, "dockercfg")
			writeAuthFile(t, filepath.Join(dir, "config.json"), reg.Host, reg.User, reg.Password)
			t.Setenv("DOCKER_CONFIG", dir)
		}},
		{name: "podman auth.json", setup: func(t *testing.T, home string) {
			p := filepath.Join(home, "podman-auth.json")
			writeAuthFile(t, p, reg.Host, reg.User, reg.Password)
			t.Setenv("REGISTRY_AUTH_FILE", p)
		}},
		{name: "wrong password", setup: func(t *testing.T, home string) {
			dir := filepath.Join(home, "dockercfg")
			writeAuthFile(t, filepath.Join(dir, "config.json"), reg.Host, reg.User, "nope")
			t.Setenv("DOCKER_CONFIG", dir)
		}, wantErr: http.StatusUnauthorized},
		{name: "no credentials", setup: func(*testing.T, string) {}, wantErr: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The default keychain looks in HOME first (pitfall 17), so
			// every place is pointed into the test's own directory.
			// $HOME/.docker itself is not a case: docker/cli caches its
			// config dir once per process, so only the first test to ask
			// would see its own HOME.
			home := t.TempDir()
			t.Setenv("HOME", home)
			t.Setenv("DOCKER_CONFIG", filepath.Join(home, "none"))
			t.Setenv("REGISTRY_AUTH_FILE", "")
			t.Setenv("XDG_RUNTIME_DIR", "")
			t.Setenv("XDG_CONFIG_HOME", "")
			tc.setup(t, home)
			_, d, err := Resolve(context.Background(), ref, v1.Platform{}, Options{Keychain: authn.DefaultKeychain, Retry: FastRetry})
			if tc.wantErr != 0 {
				var terr *transport.Error
				if !errors.As(err, &terr) || terr.StatusCode != tc.wantErr {
					t.Fatalf("err = %v, want status %d", err, tc.wantErr)
				}
				return
			}
			if err != nil || d != want {
				t.Fatalf("Resolve = %s, %v; want %s", d, err, want)
			}
		})
	}
}

func TestResolveTLSAndKilledRegistry(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.WithTLS())
	ref := testenv.PushBusybox(t, reg)
	opts := Options{Transport: reg.Transport(), Keychain: reg.Keychain(), Retry: FastRetry}
	img, _, err := Resolve(context.Background(), ref, v1.Platform{}, opts)
	if err != nil {
		t.Fatalf("Resolve over TLS: %v", err)
	}
	reg.Kill()
	// The manifest was read before; the layer fetch now fails cleanly.
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if rc, err := layers[0].Compressed(); err == nil {
		rc.Close()
		t.Fatal("layer fetched from a dead registry")
	}
	if _, _, err := Resolve(context.Background(), ref, v1.Platform{}, opts); err == nil || !strings.Contains(err.Error(), reg.TLSHost) {
		t.Fatalf("Resolve from a dead registry = %v, want an error naming %s", err, reg.TLSHost)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
