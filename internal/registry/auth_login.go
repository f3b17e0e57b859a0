package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Login checks user and password against registry's /v2/ endpoint (with a
// token exchange where the registry asks for one) and, when the registry
// accepts them, stores them in the Docker config under DockerConfigDir
// (or in its credential helper, when credHelpers or credsStore names one),
// as `docker login` does. It returns where they were stored. A refusal is
// an *AuthError.
func Login(ctx context.Context, registry, user, password string, opts Options) (string, error) {
	host := normalizeHost(registry)
	var nopts []name.Option
	if opts.isInsecure(host) {
		nopts = append(nopts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, nopts...)
	if err != nil {
		return "", fmt.Errorf("parsing registry %q: %w", registry, err)
	}
	if err := checkLogin(ctx, reg, user, password, opts); err != nil {
		return "", err
	}
	return storeCredentials(host, user, password)
}

// checkLogin asks reg's /v2/ with the credentials and wants a 200.
func checkLogin(ctx context.Context, reg name.Registry, user, password string, opts Options) error {
	base, err := opts.transportFor(reg.RegistryStr())
	if err != nil {
		return err
	}
	basic := &authn.Basic{Username: user, Password: password}
	// NewWithContext pings the registry and, for token auth, fetches a
	// token with these credentials: a wrong password fails here.
	tr, err := transport.NewWithContext(ctx, reg, basic, base, nil)
	if err != nil {
		return loginError(reg.RegistryStr(), fmt.Errorf("logging in to %s: %w", reg.RegistryStr(), err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("logging in to %s: %w", reg.RegistryStr(), err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return loginError(reg.RegistryStr(), fmt.Errorf("logging in to %s: %w", reg.RegistryStr(), err))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// loginError makes a refusal an *AuthError naming the given credentials as
// their source.
func loginError(host string, err error) error {
	if !isAuthFailure(err) {
		return err
	}
	return &AuthError{Registry: host, Source: "the username and password given to login", Err: err}
}

// storeCredentials writes host's credentials as docker login does and
// returns where they went. The config file is kept at mode 0600: it holds
// the password, only base64-encoded.
func storeCredentials(host, user, password string) (string, error) {
	dir := DockerConfigDir()
	cf, err := config.Load(dir)
	if err != nil {
		// A malformed config is not overwritten: the user would lose it.
		return "", fmt.Errorf("reading %s: %w", dir, err)
	}
	key := authKey(host)
	where := describeStore(cf, key)
	if err := cf.GetCredentialsStore(key).Store(types.AuthConfig{Username: user, Password: password, ServerAddress: key}); err != nil {
		return "", fmt.Errorf("storing credentials for %s in %s: %w", host, where, err)
	}
	if err := os.Chmod(cf.Filename, 0o600); err != nil && !os.IsNotExist(err) {
		return "", fmt.Errorf("restricting %s to its owner: %w", cf.Filename, err)
	}
	return where, nil
}

// Logout removes registry's credentials from the Docker config (or its
// credential helper). It reports whether there were any, and where.
func Logout(registry string) (bool, string, error) {
	host := normalizeHost(registry)
	dir := DockerConfigDir()
	cf, err := config.Load(dir)
	if err != nil {
		return false, "", fmt.Errorf("reading %s: %w", dir, err)
	}
	key := authKey(host)
	where := describeStore(cf, key)
	store := cf.GetCredentialsStore(key)
	ac, err := store.Get(key)
	if err != nil {
		return false, where, fmt.Errorf("reading credentials for %s from %s: %w", host, where, err)
	}
	if fromDocker(ac) == (authn.AuthConfig{}) {
		return false, where, nil
	}
	if err := store.Erase(key); err != nil {
		return false, where, fmt.Errorf("removing credentials for %s from %s: %w", host, where, err)
	}
	return true, where, nil
}
