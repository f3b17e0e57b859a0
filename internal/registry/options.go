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
	// Keychain finds credentials; default authn.DefaultKeychain, which reads
	// the Docker config ($HOME/.docker/config.json, then $DOCKER_CONFIG,
	// with credential helpers) and Podman's auth.json.
	Keychain authn.Keychain
	// Transport carries the requests; default remote.DefaultTransport.
	Transport http.RoundTripper
	// Retry is the backoff for transient failures (network errors, 408,
	// 429, 5xx); the zero value means go-containerregistry's default of 3
	// tries waiting 1s then 3s. Tests set a fast one.
	Retry remote.Backoff
	// UserAgent is added to the requests' User-Agent; default none.
	UserAgent string
}

// FastRetry is a backoff for tests: the same tries as the default, with
// millisecond waits.
var FastRetry = remote.Backoff{Duration: time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 3}

// parseRef parses ref, marking it insecure when its registry is listed in
// Insecure. Loopback names need no marking: go-containerregistry already
// uses plain HTTP for localhost, 127.0.0.1 and ::1.
func (o Options) parseRef(ref string) (name.Reference, error) {
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

// remoteOptions turns o into go-containerregistry options for one call.
func (o Options) remoteOptions(ctx context.Context, platform v1.Platform) []remote.Option {
	keychain := o.Keychain
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keychain),
		remote.WithPlatform(platform),
	}
	if o.Transport != nil {
		opts = append(opts, remote.WithTransport(o.Transport))
	}
	if o.Retry != (remote.Backoff{}) {
		opts = append(opts, remote.WithRetryBackoff(o.Retry))
	}
	if o.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(o.UserAgent))
	}
	return opts
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
