package registry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/zbuild/zbuild/internal/testenv"
)

// requestLog records "METHOD path?query" of every request, and can run a
// hook before one is sent.
type requestLog struct {
	next   http.RoundTripper
	before func(*http.Request)
	mu     sync.Mutex
	reqs   []string
}

func (l *requestLog) RoundTrip(req *http.Request) (*http.Response, error) {
	if l.before != nil {
		l.before(req)
	}
	l.mu.Lock()
	l.reqs = append(l.reqs, req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery)
	l.mu.Unlock()
	return l.next.RoundTrip(req)
}

// count is the number of requests with this method whose path and query
// contain every part.
func (l *requestLog) count(method string, parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
next:
	for _, r := range l.reqs {
		if !strings.HasPrefix(r, method+" ") {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(r, p) {
				continue next
			}
		}
		n++
	}
	return n
}

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(64<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPushAndPullBack(t *testing.T) {
	ctx := context.Background()
	open := testenv.StartRegistry(t)
	secure := testenv.StartRegistry(t, testenv.WithBasicAuth(), testenv.WithTLS())
	img := randomImage(t)
	tests := []struct {
		name string
		reg  *testenv.Registry
	}{
		{name: "open registry", reg: open},
		{name: "basic auth over TLS", reg: secure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &requestLog{next: tc.reg.Transport()}
			opts := Options{Transport: log, Keychain: tc.reg.Keychain(), Retry: FastRetry}
			dest := tc.reg.Ref("app/push:1")
			d, err := Push(ctx, img, dest, opts, PushOptions{})
			if err != nil {
				t.Fatalf("Push: %v", err)
			}
			if want := digestOf(t, img); d != want {
				t.Fatalf("Push digest = %s, want %s", d, want)
			}
			if n := log.count(http.MethodPatch); n == 0 {
				t.Fatalf("first push streamed no blob: %v", log.reqs)
			}
			got, gd, err := Resolve(ctx, dest, v1.Platform{}, opts)
			if err != nil || gd != d {
				t.Fatalf("Resolve after push = %s, %v; want %s", gd, err, d)
			}
			if err := validate.Image(got); err != nil {
				t.Fatalf("pushed image is invalid: %v", err)
			}
			// A second push finds every blob present and uploads nothing.
			log.reqs = nil
			if _, err := Push(ctx, img, tc.reg.Ref("app/push:2"), opts, PushOptions{}); err != nil {
				t.Fatalf("second Push: %v", err)
			}
			if n := log.count(http.MethodPatch) + log.count(http.MethodPost, "/blobs/uploads/"); n != 0 {
				t.Fatalf("second push uploaded %d blobs, want 0: %v", n, log.reqs)
			}
		})
	}
}

func TestPushIndex(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: platformImage(t, v1.Platform{OS: "linux", Architecture: "amd64"}), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: platformImage(t, v1.Platform{OS: "linux", Architecture: "arm64"}), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	opts := Options{Retry: FastRetry}
	d, err := PushIndex(ctx, idx, reg.Ref("multi:1"), opts, PushOptions{})
	if err != nil {
		t.Fatalf("PushIndex: %v", err)
	}
	desc, err := remote.Get(mustRef(t, reg.Ref("multi:1")))
	if err != nil || desc.Digest != d {
		t.Fatalf("index on the registry = %v, %v; want %s", desc, err, d)
	}
	got, err := desc.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(got); err != nil {
		t.Fatalf("pushed index is invalid: %v", err)
	}
}

func TestPushMountsFromAnotherRepository(t *testing.T) {
	ctx := context.Background()
	reg := testenv.StartRegistry(t)
	img := randomImage(t)
	log := &requestLog{next: reg.Transport()}
	opts := Options{Transport: log, Retry: FastRetry}
	if _, err := Push(ctx, img, reg.Ref("team/base:1"), opts, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	log.reqs = nil
	if _, err := Push(ctx, img, reg.Ref("team/app:1"), opts, PushOptions{MountFrom: "team/base"}); err != nil {
		t.Fatalf("Push with MountFrom: %v", err)
	}
	if n := log.count(http.MethodPost, "mount=", "from=team%2Fbase"); n != 3 {
		t.Fatalf("%d mount requests, want one per layer (3): %v", n, log.reqs)
	}
	if n := log.count(http.MethodPatch); n != 1 {
		// Only the config blob is uploaded: the layers were mounted.
		t.Fatalf("%d blob uploads, want 1 (the config): %v", n, log.reqs)
	}
}

func TestPushErrors(t *testing.T) {
	ctx := context.Background()
	secure := testenv.StartRegistry(t, testenv.WithBasicAuth(), testenv.WithTLS())
	img := randomImage(t)

	t.Run("wrong password", func(t *testing.T) {
		kc := staticKeychain{&authn.Basic{Username: secure.User, Password: "wrong"}}
		_, err := Push(ctx, img, secure.Ref("app:1"), Options{Transport: secure.Transport(), Keychain: kc, Retry: FastRetry}, PushOptions{})
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Registry != secure.TLSHost {
			t.Fatalf("err = %v, want an *AuthError for %s", err, secure.TLSHost)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Fatalf("error shows the password: %v", err)
		}
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("err = %v, want a 401 *transport.Error inside", err)
		}
	})

	t.Run("no credentials names the files looked in", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("HOME", home)
		t.Setenv("DOCKER_CONFIG", home+"/docker")
		t.Setenv("REGISTRY_AUTH_FILE", "")
		t.Setenv("XDG_RUNTIME_DIR", "")
		t.Setenv("XDG_CONFIG_HOME", "")
		_, err := Push(ctx, img, secure.Ref("app:1"), Options{Transport: secure.Transport(), Retry: FastRetry}, PushOptions{})
		var ae *AuthError
		if !errors.As(err, &ae) || !strings.Contains(ae.Source, home+"/docker/config.json") {
			t.Fatalf("err = %v, want an *AuthError naming %s/docker/config.json", err, home)
		}
	})

	t.Run("registry killed mid-push", func(t *testing.T) {
		reg := testenv.StartRegistry(t)
		var (
			once      sync.Once
			afterKill int
			mu        sync.Mutex
		)
		killed := false
		log := &requestLog{next: reg.Transport(), before: func(req *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if killed {
				afterKill++
			}
			if req.Method == http.MethodPatch {
				once.Do(func() { reg.Kill(); killed = true })
			}
		}}
		_, err := Push(ctx, img, reg.Ref("app:1"), Options{Transport: log, Retry: FastRetry}, PushOptions{})
		if err == nil {
			t.Fatal("push to a killed registry succeeded")
		}
		if !strings.Contains(err.Error(), reg.Host) {
			t.Fatalf("err = %v, want it to name %s", err, reg.Host)
		}
		mu.Lock()
		defer mu.Unlock()
		if afterKill < 2 {
			t.Fatalf("%d requests after the kill, want retries", afterKill)
		}
	})

	t.Run("bad destination", func(t *testing.T) {
		if _, err := Push(ctx, img, "Not A Ref", Options{}, PushOptions{}); err == nil || !strings.Contains(err.Error(), "push destination") {
			t.Fatalf("err = %v, want a parse error", err)
		}
	})
}

type staticKeychain struct{ auth authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }
