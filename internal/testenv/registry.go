package testenv

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/crypto/bcrypt"
)

// RegistryBinary is Debian's docker-registry (distribution 2.8).
const RegistryBinary = "/usr/bin/docker-registry"

// TLSName is the host name the TLS registry's certificate is issued for. It
// resolves only through Registry.Transport: go-containerregistry speaks
// plain HTTP to loopback addresses whatever the server speaks, so a TLS test
// must name the registry by something that is not 127.0.0.1 or localhost.
const TLSName = "zbuild-registry.test"

// Registry is a real registry process serving on 127.0.0.1 for one test.
type Registry struct {
	// Host is "127.0.0.1:PORT".
	Host string
	// TLSHost is "zbuild-registry.test:PORT" when TLS is on (see TLSName),
	// "" otherwise.
	TLSHost string
	// User and Password are the basic-auth credentials, "" without auth.
	User, Password string
	// CACertPath is the PEM file of the CA that signed the server
	// certificate, "" without TLS.
	CACertPath string
	// Dir holds the config, the storage and registry.log.
	Dir string

	transport *http.Transport
	cmd       *exec.Cmd
	exited    chan struct{}
	killOnce  sync.Once
}

// RegistryOption configures Registry.
type RegistryOption func(*registryConfig)

type registryConfig struct {
	auth bool
	tls  bool
}

// WithBasicAuth makes the registry require basic auth with the generated
// User and Password (an htpasswd at bcrypt's minimum cost, which keeps each
// request fast).
func WithBasicAuth() RegistryOption { return func(c *registryConfig) { c.auth = true } }

// WithTLS makes the registry serve HTTPS with a certificate from a CA made
// for the test (CACertPath); talk to it through TLSHost and Transport.
func WithTLS() RegistryOption { return func(c *registryConfig) { c.tls = true } }

// startAttempts bounds retries when another process takes the free port
// between our probe and the registry's bind.
const startAttempts = 5

// readyWithin bounds the wait for /v2/ to answer; it is a safety net for a
// hung start, not a measure of speed.
const readyWithin = 60 * time.Second

// StartRegistry starts Debian's docker-registry on a free loopback port with
// its own config in a temp dir (filesystem storage, delete enabled, logs to
// Dir/registry.log), waits until /v2/ answers, and stops it when the test
// ends. It skips the test when the binary is missing.
func StartRegistry(t testing.TB, opts ...RegistryOption) *Registry {
	t.Helper()
	RequiresBinary(t, RegistryBinary)
	var cfg registryConfig
	for _, o := range opts {
		o(&cfg)
	}
	var lastErr error
	for range startAttempts {
		r, err := startRegistry(t.TempDir(), cfg)
		if err == nil {
			t.Cleanup(func() {
				r.Kill()
				if t.Failed() {
					if log, err := os.ReadFile(r.LogPath()); err == nil {
						t.Logf("registry log:\n%s", tail(string(log), 4000))
					}
				}
			})
			return r
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("starting registry: %v", lastErr)
	return nil
}

var errPortTaken = errors.New("port taken")

func startRegistry(dir string, cfg registryConfig) (*Registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &Registry{
		Host:      fmt.Sprintf("127.0.0.1:%d", port),
		Dir:       dir,
		exited:    make(chan struct{}),
		transport: http.DefaultTransport.(*http.Transport).Clone(),
	}
	conf := map[string]any{
		"version": "0.1",
		"log":     map[string]any{"level": "warn", "accesslog": map[string]any{"disabled": true}},
		"storage": map[string]any{
			"filesystem": map[string]any{"rootdirectory": filepath.Join(dir, "data")},
			"delete":     map[string]any{"enabled": true},
		},
	}
	httpConf := map[string]any{"addr": r.Host}
	conf["http"] = httpConf
	if cfg.auth {
		if err := r.setUpAuth(conf); err != nil {
			return nil, err
		}
	}
	if cfg.tls {
		ca, err := newTestCA(dir, TLSName)
		if err != nil {
			return nil, err
		}
		httpConf["tls"] = map[string]any{"certificate": ca.serverCert, "key": ca.serverKey}
		r.CACertPath = ca.caCert
		r.TLSHost = fmt.Sprintf("%s:%d", TLSName, port)
		r.transport.TLSClientConfig = &tls.Config{RootCAs: ca.pool}
		dialer := &net.Dialer{}
		r.transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == r.TLSHost {
				addr = r.Host
			}
			return dialer.DialContext(ctx, network, addr)
		}
	}
	// JSON is YAML, and spares us quoting rules.
	confJSON, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding registry config: %w", err)
	}
	confPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(confPath, confJSON, 0o600); err != nil {
		return nil, fmt.Errorf("writing registry config: %w", err)
	}
	if err := r.start(confPath); err != nil {
		return nil, err
	}
	return r, nil
}

// setUpAuth generates credentials and an htpasswd file.
func (r *Registry) setUpAuth(conf map[string]any) error {
	secret := make([]byte, 8)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("generating password: %w", err)
	}
	r.User, r.Password = "zbuild", "pw-"+hex.EncodeToString(secret)
	// MinCost: distribution checks the hash on every request, and the
	// default cost makes a push ten times slower.
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
	if err != nil {
		return fmt.Errorf("hashing password: %w", err)
	}
	htpasswd := filepath.Join(r.Dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(r.User+":"+string(hash)+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing htpasswd: %w", err)
	}
	conf["auth"] = map[string]any{"htpasswd": map[string]any{"realm": "zbuild-test", "path": htpasswd}}
	return nil
}

// start runs the registry and waits for /v2/ to answer.
func (r *Registry) start(confPath string) error {
	logf, err := os.Create(r.LogPath())
	if err != nil {
		return fmt.Errorf("creating registry log: %w", err)
	}
	r.cmd = exec.Command(RegistryBinary, "serve", confPath)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.Env = registryEnv()
	if err := r.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("running %s: %w", RegistryBinary, err)
	}
	go func() {
		r.cmd.Wait()
		logf.Close()
		close(r.exited)
	}()
	if err := r.waitReady(); err != nil {
		r.Kill()
		log, _ := os.ReadFile(r.LogPath())
		if strings.Contains(string(log), "address already in use") {
			return fmt.Errorf("%w: %s", errPortTaken, r.Host)
		}
		return fmt.Errorf("%w; log:\n%s", err, tail(string(log), 2000))
	}
	return nil
}

func (r *Registry) waitReady() error {
	client := &http.Client{Transport: r.transport, Timeout: 5 * time.Second}
	url := "http://" + r.Host + "/v2/"
	if r.TLSHost != "" {
		url = "https://" + r.TLSHost + "/v2/"
	}
	deadline := time.Now().Add(readyWithin)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			// 200, or 401 with auth on: either way it is serving.
			return nil
		}
		select {
		case <-r.exited:
			return fmt.Errorf("registry exited before serving")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("registry did not answer %s within %s: %w", url, readyWithin, err)
		}
	}
}

// Kill stops the registry at once (to test what clients do when it goes
// away). It is safe to call more than once.
func (r *Registry) Kill() {
	r.killOnce.Do(func() {
		if r.cmd != nil && r.cmd.Process != nil {
			r.cmd.Process.Kill()
			<-r.exited
		}
	})
}

// LogPath is the registry's log file.
func (r *Registry) LogPath() string { return filepath.Join(r.Dir, "registry.log") }

// Transport is an HTTP transport that reaches this registry: it trusts the
// test CA and resolves TLSHost to 127.0.0.1.
func (r *Registry) Transport() http.RoundTripper { return r.transport }

// Keychain returns the registry's credentials for its host names (anonymous
// without auth).
func (r *Registry) Keychain() authn.Keychain {
	return registryKeychain{r}
}

// Ref is the reference of repo (with tag or digest) on this registry,
// through TLSHost when TLS is on.
func (r *Registry) Ref(repo string) string {
	if r.TLSHost != "" {
		return r.TLSHost + "/" + repo
	}
	return r.Host + "/" + repo
}

type registryKeychain struct{ r *Registry }

func (k registryKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	host := res.RegistryStr()
	if k.r.User == "" || (host != k.r.Host && host != k.r.TLSHost) {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: k.r.User, Password: k.r.Password}, nil
}

// freePort asks the kernel for a loopback port nobody listens on. Another
// process may take it before the registry binds; start retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// registryEnv is our environment without REGISTRY_* variables, which
// distribution would read as config overrides (Podman's REGISTRY_AUTH_FILE
// among them) and OTEL ones that would make it export traces.
func registryEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "REGISTRY_") || strings.HasPrefix(kv, "OTEL_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
