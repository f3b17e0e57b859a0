package fetch

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// MaxSize bounds one download. ADD writes the whole file into a layer, so
// this is a guard against endless or hostile responses, not a quota: 16 GiB
// is far above any sensible layer.
const MaxSize int64 = 16 << 30

// maxSize is MaxSize, lowered by tests.
var maxSize = MaxSize

// unnamed is the file name BuildKit gives a URL whose path has none (and,
// here, whose response names none either).
const unnamed = "__unnamed__"

// client downloads with the environment's HTTP(S)_PROXY and NO_PROXY, as
// net/http's default transport does.
var client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

// IsURL reports whether ADD treats s as a remote file: an http:// or
// https:// URL that is not a git repository (see IsGit).
func IsURL(s string) bool {
	return (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")) && !IsGit(s)
}

// ChecksumError is returned when a download does not match ADD --checksum.
type ChecksumError struct {
	URL       string // redacted
	Got, Want string // "algorithm:hex"
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("checksum mismatch for %s: got %s, want %s", e.URL, e.Got, e.Want)
}

// ErrTooLarge is returned (wrapped) when a download exceeds MaxSize.
var ErrTooLarge = errors.New("download too large")

// URL downloads rawURL into dstDir and returns the file's path. The name
// is the last element of the URL path, else the response's
// Content-Disposition file name, else "__unnamed__". The file is 0600 (as
// Docker makes it) and has the Last-Modified time when the server sends
// one. checksum ("sha256:…", "sha384:…" or "sha512:…"), when given, must
// match or nothing is left in dstDir.
func URL(ctx context.Context, rawURL, checksum, dstDir string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid URL %q: want http:// or https://", redact(rawURL))
	}
	shown := u.Redacted()
	var want string
	var h hash.Hash
	if checksum != "" {
		if h, want, err = parseChecksum(checksum); err != nil {
			return "", err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", shown, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", shown, redactErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("downloading %s: unexpected status %s", shown, resp.Status)
	}
	if resp.ContentLength > maxSize {
		return "", fmt.Errorf("downloading %s: %d bytes: %w (limit %d)", shown, resp.ContentLength, ErrTooLarge, maxSize)
	}
	name := fileName(u, resp.Header.Get("Content-Disposition"))

	tmp, err := os.CreateTemp(dstDir, ".download-*")
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", shown, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	var w io.Writer = tmp
	if h != nil {
		w = io.MultiWriter(tmp, h)
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, maxSize+1))
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", shown, redactErr(err))
	}
	if n > maxSize {
		return "", fmt.Errorf("downloading %s: %w (limit %d bytes)", shown, ErrTooLarge, maxSize)
	}
	if h != nil {
		alg, _, _ := strings.Cut(want, ":")
		if got := alg + ":" + hex.EncodeToString(h.Sum(nil)); got != want {
			return "", &ChecksumError{URL: shown, Got: got, Want: want}
		}
	}
	if err := tmp.Chmod(0o600); err != nil {
		return "", fmt.Errorf("downloading %s: %w", shown, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("downloading %s: %w", shown, err)
	}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		if err := os.Chtimes(tmp.Name(), lm, lm); err != nil {
			return "", fmt.Errorf("downloading %s: %w", shown, err)
		}
	}
	file := filepath.Join(dstDir, name)
	if err := os.Rename(tmp.Name(), file); err != nil {
		return "", fmt.Errorf("downloading %s: %w", shown, err)
	}
	done = true
	return file, nil
}

// parseChecksum returns a hash for an "algorithm:hex" digest and the digest
// in lower case.
func parseChecksum(s string) (hash.Hash, string, error) {
	alg, enc, ok := strings.Cut(s, ":")
	var h hash.Hash
	switch alg {
	case "sha256":
		h = sha256.New()
	case "sha384":
		h = sha512.New384()
	case "sha512":
		h = sha512.New()
	default:
		return nil, "", fmt.Errorf("invalid checksum %q: want sha256:, sha384: or sha512: and a hex digest", s)
	}
	enc = strings.ToLower(enc)
	if b, err := hex.DecodeString(enc); !ok || err != nil || len(b) != h.Size() {
		return nil, "", fmt.Errorf("invalid checksum %q: want %d hex digits after %q", s, 2*h.Size(), alg+":")
	}
	return h, alg + ":" + enc, nil
}

// fileName picks the downloaded file's name; it is never a path.
func fileName(u *url.URL, disposition string) string {
	if base := path.Base(u.Path); safeName(base) {
		return base
	}
	if _, params, err := mime.ParseMediaType(disposition); err == nil {
		if base := filepath.Base(params["filename"]); safeName(base) {
			return base
		}
	}
	return unnamed
}

func safeName(s string) bool {
	return s != "" && s != "." && s != ".." && s != "/" && !strings.ContainsAny(s, "/\\\x00")
}

// redact removes a password from a URL for messages. Addresses without a
// scheme (scp-like git remotes) carry no password and are kept.
func redact(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "<unparsable URL>"
}

// redactErr rewrites errors that quote the URL (url.Error does) so that a
// password in it is not shown.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
