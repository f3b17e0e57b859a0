package registry

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DockerConfigDir is the directory of docker's config.json: $DOCKER_CONFIG,
// else $HOME/.docker. It is read on every call (docker/cli caches it once
// per process, which tests and long-lived callers cannot live with).
func DockerConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".docker"
	}
	return filepath.Join(home, ".docker")
}

// PodmanAuthFile is where podman and buildah keep credentials:
// $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json, else
// ${XDG_CONFIG_HOME:-$HOME/.config}/containers/auth.json.
func PodmanAuthFile() string {
	if f := os.Getenv("REGISTRY_AUTH_FILE"); f != "" {
		return f
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		if f := filepath.Join(d, "containers", "auth.json"); fileExists(f) {
			return f
		}
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "containers", "auth.json")
}

// DefaultKeychain finds credentials as docker, then podman, would: in the
// Docker config (its auths, credHelpers and credsStore), else in Podman's
// auth file. Unlike go-containerregistry's default keychain, $DOCKER_CONFIG
// takes precedence over $HOME/.docker and the Podman file is still read
// when a Docker config exists without an entry for the registry.
func DefaultKeychain() authn.Keychain { return fileKeychain{} }

type fileKeychain struct{}

func (fileKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	ac, _, err := lookupCredentials(res.RegistryStr())
	if err != nil {
		return nil, err
	}
	if ac == (authn.AuthConfig{}) {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(ac), nil
}

// CredentialSource says where the credentials for registry host come from,
// for error messages: a file, a credential helper, or where nothing was
// found. It never includes the credentials themselves.
func CredentialSource(host string) string {
	_, src, err := lookupCredentials(host)
	if err != nil {
		return err.Error()
	}
	return src
}

// lookupCredentials finds host's credentials and says where they came from.
func lookupCredentials(host string) (authn.AuthConfig, string, error) {
	dockerFile := filepath.Join(DockerConfigDir(), config.ConfigFileName)
	if fileExists(dockerFile) {
		cf, err := config.Load(DockerConfigDir())
		if err != nil {
			return authn.AuthConfig{}, "", fmt.Errorf("reading credentials: %w", err)
		}
		key := authKey(host)
		ac, err := cf.GetAuthConfig(key)
		if err != nil {
			return authn.AuthConfig{}, "", fmt.Errorf("reading credentials for %s from %s: %w", host, describeStore(cf, key), err)
		}
		if got := fromDocker(ac); got != (authn.AuthConfig{}) {
			return got, describeStore(cf, key), nil
		}
	}
	podman := PodmanAuthFile()
	if podman != "" && fileExists(podman) {
		f, err := os.Open(podman)
		if err != nil {
			return authn.AuthConfig{}, "", fmt.Errorf("reading credentials: %w", err)
		}
		defer f.Close()
		cf, err := config.LoadFromReader(f)
		if err != nil {
			return authn.AuthConfig{}, "", fmt.Errorf("reading credentials from %s: %w", podman, err)
		}
		ac, err := cf.GetAuthConfig(authKey(host))
		if err != nil {
			return authn.AuthConfig{}, "", fmt.Errorf("reading credentials for %s from %s: %w", host, podman, err)
		}
		if got := fromDocker(ac); got != (authn.AuthConfig{}) {
			return got, podman, nil
		}
	}
	return authn.AuthConfig{}, fmt.Sprintf("none found (looked in %s and %s)", dockerFile, podman), nil
}

// describeStore names where cf keeps key's credentials.
func describeStore(cf *configfile.ConfigFile, key string) string {
	if h := cf.CredentialHelpers[key]; h != "" {
		return fmt.Sprintf("credential helper docker-credential-%s (credHelpers in %s)", h, cf.Filename)
	}
	if cf.CredentialsStore != "" {
		return fmt.Sprintf("credential helper docker-credential-%s (credsStore in %s)", cf.CredentialsStore, cf.Filename)
	}
	return cf.Filename
}

func fromDocker(ac types.AuthConfig) authn.AuthConfig {
	return authn.AuthConfig{
		Username:      ac.Username,
		Password:      ac.Password,
		Auth:          ac.Auth,
		IdentityToken: ac.IdentityToken,
		RegistryToken: ac.RegistryToken,
	}
}

// authKey is the key of host in docker's config: Docker Hub keeps its
// historical URL key.
func authKey(host string) string {
	switch host {
	case name.DefaultRegistry, "docker.io", "registry-1.docker.io":
		return authn.DefaultAuthKey
	}
	return host
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

// AuthError is a registry refusing our credentials (or their absence). It
// names the registry and where credentials were looked for, never the
// credentials themselves; the registry's *transport.Error stays reachable
// through errors.As.
type AuthError struct {
	// Registry is the registry host.
	Registry string
	// Source is where credentials came from (see CredentialSource).
	Source string
	Err    error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("authentication to registry %s failed (credentials: %s): %v; log in with `zbuild login %s`", e.Registry, e.Source, e.Err, e.Registry)
}

func (e *AuthError) Unwrap() error { return e.Err }

// authError wraps err in an *AuthError when the registry refused access.
// keychain is the one the request used; nil means DefaultKeychain.
func authError(host string, keychain authn.Keychain, err error) error {
	if err == nil || !isAuthFailure(err) {
		return err
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		return err
	}
	src := "the configured keychain"
	if keychain == nil {
		src = CredentialSource(host)
	}
	return &AuthError{Registry: host, Source: src, Err: err}
}

// isAuthFailure reports a 401/403 answer or an UNAUTHORIZED/DENIED code.
func isAuthFailure(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden {
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.UnauthorizedErrorCode || d.Code == transport.DeniedErrorCode {
			return true
		}
	}
	return false
}

// normalizeHost turns what users pass to login ("docker.io",
// "https://host/v2/") into a registry host.
func normalizeHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	switch s {
	case "docker.io", "registry-1.docker.io", "":
		return name.DefaultRegistry
	}
	return s
}
