package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DefaultCertsDir is where per-registry certificates live, as docker reads
// them: CERTS_DIR/HOST[:PORT]/*.crt are CAs, client.cert and client.key a
// client certificate.
const DefaultCertsDir = "/etc/docker/certs.d"

// dockerHubHost is ggcr's spelling of Docker Hub, the only registry
// mirrors stand in for (as with dockerd's registry-mirrors).
const dockerHubHost = name.DefaultRegistry

// expandShortName prefixes ref with o.DefaultRegistry when ref names no
// registry ("app:1", "team/app"), as zlayer-builder's --default-registry
// does; with no default registry such names mean Docker Hub.
func (o Options) expandShortName(ref string) string {
	if o.DefaultRegistry == "" || registryOf(ref) != "" {
		return ref
	}
	return strings.TrimSuffix(o.DefaultRegistry, "/") + "/" + ref
}

// ExpandShortName is the reference ref means under these options: names
// without a registry get DefaultRegistry. Callers that look names up
// elsewhere (the local store) use it so "app:1" means the same image there.
func (o Options) ExpandShortName(ref string) string { return o.expandShortName(ref) }

// isInsecure reports whether host is listed in o.Insecure.
func (o Options) isInsecure(host string) bool {
	return slices.Contains(o.Insecure, host)
}

// transportFor is the HTTP transport for host: o.Transport (or ggcr's
// default) with the CA certificates and client certificate configured for
// host added, and TLS verification off for insecure hosts (docker's
// insecure-registries accept self-signed certificates too). A transport
// that is not an *http.Transport is used as is when nothing needs adding.
func (o Options) transportFor(host string) (http.RoundTripper, error) {
	base := o.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	caFiles, clientCert, clientKey, err := o.hostCerts(host)
	if err != nil {
		return nil, err
	}
	insecure := o.isInsecure(host)
	if len(caFiles) == 0 && clientCert == "" && !insecure {
		return base, nil
	}
	ht, ok := base.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("registry %s: custom certificates need an *http.Transport, got %T", host, base)
	}
	ht = ht.Clone()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ht.TLSClientConfig != nil {
		cfg = ht.TLSClientConfig.Clone()
	}
	if len(caFiles) > 0 {
		pool, err := certPool(cfg.RootCAs, caFiles)
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", host, err)
		}
		cfg.RootCAs = pool
	}
	if clientCert != "" {
		pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
		if err != nil {
			return nil, fmt.Errorf("registry %s: loading client certificate: %w", host, err)
		}
		cfg.Certificates = append(cfg.Certificates, pair)
	}
	if insecure {
		cfg.InsecureSkipVerify = true
	}
	ht.TLSClientConfig = cfg
	return ht, nil
}

// hostCerts lists the CA files for host (o.CACertFiles, then the *.crt
// files of the host's certs dir) and its client certificate pair, if any.
func (o Options) hostCerts(host string) (cas []string, cert, key string, err error) {
	cas = append(cas, o.CACertFiles...)
	dir := o.CertsDir
	if dir == "" {
		dir = DefaultCertsDir
	}
	if dir == "-" || host == "" {
		return cas, "", "", nil
	}
	hostDir := filepath.Join(dir, host)
	entries, err := os.ReadDir(hostDir)
	if errors.Is(err, fs.ErrNotExist) {
		return cas, "", "", nil
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("reading certificates of registry %s: %w", host, err)
	}
	for _, e := range entries {
		switch n := e.Name(); {
		case strings.HasSuffix(n, ".crt"):
			cas = append(cas, filepath.Join(hostDir, n))
		case n == "client.cert":
			cert = filepath.Join(hostDir, n)
			key = filepath.Join(hostDir, "client.key")
		}
	}
	return cas, cert, key, nil
}

// certPool is base (or the system pool when base is nil) plus the PEM
// certificates in files.
func certPool(base *x509.CertPool, files []string) (*x509.CertPool, error) {
	pool := base
	if pool == nil {
		sys, err := x509.SystemCertPool()
		if err != nil {
			sys = x509.NewCertPool()
		}
		pool = sys
	} else {
		pool = pool.Clone()
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading CA certificate: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate %s holds no PEM certificate", f)
		}
	}
	return pool, nil
}

// transient says whether a failed request is worth retrying: ggcr's own
// cases (temporary errors, cut connections) plus a refused connection,
// which is what a registry restarting behind a load balancer looks like.
// Auth and other 4xx errors are never retried.
func transient(err error) bool {
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return false
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, io.EOF, io.ErrUnexpectedEOF, net.ErrClosed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
