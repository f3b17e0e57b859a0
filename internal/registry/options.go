package registry

import (
	"context"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Options says how to reach registries. The zero value is ready to use.
type Options struct {
	// Insecure lists registry hosts ("host" or "host:port") spoken to over
	// plain HTTP. Loopback hosts (localhost, 127.0.0.1, ::1) always are.
	Insecure []string
	// Keychain finds credentials; default DefaultKeychain(): the Docker
	// config ($DOCKER_CONFIG, else $HOME/.docker, with credential helpers),
	// then Podman's auth.json.
	Keychain authn.Keychain
	// Transport carries the requests; default remote.DefaultTransport.
	Transport http.RoundTripper
	// Retry is the backoff for transient failures (network errors, 408,
	// 429, 5xx); the zero value means go-containerregistry's default of 3
	// tries waiting 1s then 3s. Tests set a fast one.
	Retry remote.Backoff
	// UserAgent is added to the requests' User-Agent; default none.
	UserAgent string
	// DefaultRegistry is the registry of references that name none
	// ("app:1"); "" means Docker Hub, as docker does.
	DefaultRegistry string
	// Mirrors are registries ("host[:port]") tried in order before Docker
	// Hub when pulling from it, as dockerd's registry-mirrors; a mirror
	// that fails is skipped. Pushes always go to Docker Hub itself.
	Mirrors []string
	// CACertFiles are PEM CA certificates trusted for every registry, on
	// top of the system's and those in CertsDir.
	CACertFiles []string
	// CertsDir holds per-registry certificates as docker reads them
	// (HOST[:PORT]/*.crt, client.cert, client.key); "" means
	// DefaultCertsDir, "-" none.
	CertsDir string
}

// FastRetry is a backoff for tests: the same tries as the default, with
// millisecond waits.
var FastRetry = remote.Backoff{Duration: time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 3}

// parseRef parses ref, marking it insecure when its registry is listed in
// Insecure. Loopback names need no marking: go-containerregistry already
// uses plain HTTP for localhost, 127.0.0.1 and ::1.
func (o Options) parseRef(ref string) (name.Reference, error) {
	ref = o.expandShortName(ref)
	var opts []name.Option
	if host := registryOf(ref); host != "" && slices.Contains(o.Insecure, host) {
		opts = append(opts, name.Insecure)
	}
	return name.ParseReference(ref, opts...)
}

// registryOf is the registry part of a reference as written ("" when the
// reference has none and so means Docker Hub).
func registryOf(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if !ok || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return ""
	}
	return first
}

// remoteOptions turns o into go-containerregistry options for one call to
// the registry host.
func (o Options) remoteOptions(ctx context.Context, host string, platform v1.Platform) ([]remote.Option, error) {
	keychain := o.Keychain
	if keychain == nil {
		keychain = DefaultKeychain()
	}
	tr, err := o.transportFor(host)
	if err != nil {
		return nil, err
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keychain),
		remote.WithPlatform(platform),
		remote.WithTransport(tr),
		remote.WithRetryPredicate(transient),
	}
	if o.Retry != (remote.Backoff{}) {
		opts = append(opts, remote.WithRetryBackoff(o.Retry))
	}
	if o.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(o.UserAgent))
	}
	return opts, nil
}

// DefaultPlatform is linux on the host's architecture: what a build runs
// when no platform is asked for.
func DefaultPlatform() v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm" {
		p.Variant = "v7"
	}
	return p
}
