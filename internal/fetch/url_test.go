package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIsURLAndIsGit(t *testing.T) {
	cases := []struct {
		s          string
		url, isGit bool
	}{
		{"http://example.com/file.tar.gz", true, false},
		{"https://example.com/", true, false},
		{"https://example.com/foo", true, false},
		{"https://example.com/repo.git", false, true},
		{"https://example.com/repo.git#v1:docs", false, true},
		{"https://example.com/repo.git?ref=v1", false, true},
		{"http://example.com/repo.git", false, true},
		{"git://example.com/repo", false, true},
		{"ssh://git@example.com/repo", false, true},
		{"git@github.com:moby/buildkit.git", false, true},
		{"git@github.com:moby/buildkit.git#main", false, true},
		{"github.com/moby/buildkit", false, false},
		{"./repo.git", false, false},
		{"../x.git", false, false},
		{"file:///tmp/repo.git", false, false},
		{"ftp://example.com/x", false, false},
		{"HTTP://example.com/x", false, false},
		{"local/path.txt", false, false},
		{"C:/not/a/url", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.s, func(t *testing.T) {
			if got := IsURL(tc.s); got != tc.url {
				t.Errorf("IsURL = %v, want %v", got, tc.url)
			}
			if got := IsGit(tc.s); got != tc.isGit {
				t.Errorf("IsGit = %v, want %v", got, tc.isGit)
			}
		})
	}
}

// serve starts a server on 127.0.0.1 with the handlers of a test.
func serve(t *testing.T, routes map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

func TestURL(t *testing.T) {
	lastMod := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	srv := serve(t, map[string]http.HandlerFunc{
		"/files/hello.txt": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Last-Modified", lastMod.Format(http.TimeFormat))
			if cd := r.URL.Query().Get("cd"); cd != "" {
				w.Header().Set("Content-Disposition", `attachment; filename="`+cd+`"`)
			}
			fmt.Fprint(w, "hello")
		},
		"/": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			if cd := r.URL.Query().Get("cd"); cd != "" {
				w.Header().Set("Content-Disposition", `attachment; filename="`+cd+`"`)
			}
			fmt.Fprint(w, "index")
		},
		"/redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/files/hello.txt", http.StatusFound)
		},
	})
	cases := []struct {
		name, path, checksum string
		wantName, wantData   string
		wantErr              string
		checksumErr          bool
	}{
		{name: "name from the path, time from Last-Modified", path: "/files/hello.txt", wantName: "hello.txt", wantData: "hello"},
		// The URL path's name wins (BuildKit always names by the path);
		// Content-Disposition only names a URL whose path has none.
		{name: "name from Content-Disposition", path: "/?cd=report.csv", wantName: "report.csv", wantData: "index"},
		{name: "path name wins over Content-Disposition", path: "/files/hello.txt?cd=other", wantName: "hello.txt", wantData: "hello"},
		{name: "no name at all", path: "/", wantName: "__unnamed__", wantData: "index"},
		{name: "redirects are followed", path: "/redirect", wantName: "redirect", wantData: "hello"},
		{name: "query is not part of the name", path: "/files/hello.txt?x=1", wantName: "hello.txt", wantData: "hello"},
		{name: "checksum matches", path: "/files/hello.txt", checksum: sum("hello"), wantName: "hello.txt", wantData: "hello"},
		{name: "checksum in upper case", path: "/files/hello.txt", checksum: "sha256:" + strings.ToUpper(sum("hello")[7:]), wantName: "hello.txt", wantData: "hello"},
		{name: "checksum without algorithm", path: "/files/hello.txt", checksum: sum("hello")[7:], wantErr: "invalid checksum"},
		{name: "checksum mismatch", path: "/files/hello.txt", checksum: sum("other"), checksumErr: true, wantErr: "got " + sum("hello") + ", want " + sum("other")},
		{name: "unknown checksum algorithm", path: "/files/hello.txt", checksum: "md5:abcd", wantErr: "invalid checksum"},
		{name: "short checksum", path: "/files/hello.txt", checksum: "sha256:abcd", wantErr: "want 64 hex digits"},
		{name: "not found", path: "/missing", wantErr: "404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file, err := URL(context.Background(), srv.URL+tc.path, tc.checksum, dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("URL error %v, want one containing %q", err, tc.wantErr)
				}
				var ce *ChecksumError
				if errors.As(err, &ce) != tc.checksumErr {
					t.Errorf("error %v: ChecksumError %v, want %v", err, !tc.checksumErr, tc.checksumErr)
				}
				if left, _ := os.ReadDir(dir); len(left) != 0 {
					t.Errorf("a failed download left %v behind", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if file != filepath.Join(dir, tc.wantName) {
				t.Errorf("file %s, want %s", file, filepath.Join(dir, tc.wantName))
			}
			data, err := os.ReadFile(file)
			if err != nil || string(data) != tc.wantData {
				t.Errorf("content %q (%v), want %q", data, err, tc.wantData)
			}
			fi, _ := os.Stat(file)
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode())
			}
			if tc.path == "/files/hello.txt" && !fi.ModTime().Equal(lastMod) {
				t.Errorf("mtime %v, want %v", fi.ModTime(), lastMod)
			}
			if left, _ := os.ReadDir(dir); len(left) != 1 {
				t.Errorf("dir holds %v, want only the file", left)
			}
		})
	}
	t.Run("Content-Disposition cannot name a path", func(t *testing.T) {
		dir := t.TempDir()
		file, err := URL(context.Background(), srv.URL+"/?cd=../../etc/passwd", "", dir)
		if err != nil {
			t.Fatal(err)
		}
		if file != filepath.Join(dir, "passwd") {
			t.Fatalf("file %s, want %s", file, filepath.Join(dir, "passwd"))
		}
	})
}

func TestURLErrors(t *testing.T) {
	t.Run("credentials are not shown", func(t *testing.T) {
		srv := serve(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", http.StatusForbidden)
		}})
		u := strings.Replace(srv.URL, "http://", "http://alice:s3cret@", 1) + "/f"
		_, err := URL(context.Background(), u, "", t.TempDir())
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "403") {
			t.Fatalf("error %v: want a 403 without the password", err)
		}
		// A refused connection quotes the URL too.
		srv.Close()
		_, err = URL(context.Background(), u, "", t.TempDir())
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error %v: want one without the password", err)
		}
	})
	t.Run("not http", func(t *testing.T) {
		_, err := URL(context.Background(), "ftp://example.com/x", "", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "want http") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		defer func(n int64) { maxSize = n }(maxSize)
		maxSize = 10
		srv := serve(t, map[string]http.HandlerFunc{
			"/declared": func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, strings.Repeat("x", 11)) },
			"/chunked": func(w http.ResponseWriter, r *http.Request) {
				for range 11 {
					fmt.Fprint(w, "x")
					w.(http.Flusher).Flush()
				}
			},
		})
		for _, p := range []string{"/declared", "/chunked"} {
			dir := t.TempDir()
			_, err := URL(context.Background(), srv.URL+p, "", dir)
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("%s: error %v, want ErrTooLarge", p, err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("%s: left %v behind", p, left)
			}
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		started := make(chan struct{})
		srv := serve(t, map[string]http.HandlerFunc{"/slow": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "partial")
			w.(http.Flusher).Flush()
			close(started)
			<-r.Context().Done()
		}})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-started; cancel() }()
		_, err := URL(ctx, srv.URL+"/slow", "", t.TempDir())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	})
}

// TestURLProxy checks that HTTP_PROXY is honoured. net/http reads the
// proxy environment once per process and never proxies 127.0.0.1, so the
// download runs in a child process and asks for a name only the proxy
// knows.
func TestURLProxy(t *testing.T) {
	if dir := os.Getenv("ZBUILD_FETCH_PROXY_CHILD"); dir != "" {
		file, err := URL(context.Background(), "http://zbuild-test.invalid/proxied.txt", "", dir)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("FILE", file)
		return
	}
	var seen string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.URL.String()
		fmt.Fprint(w, "via proxy")
	}))
	defer proxy.Close()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestURLProxy$", "-test.v")
	cmd.Env = append(os.Environ(), "ZBUILD_FETCH_PROXY_CHILD="+dir, "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if seen != "http://zbuild-test.invalid/proxied.txt" {
		t.Errorf("proxy saw %q", seen)
	}
	data, err := os.ReadFile(filepath.Join(dir, "proxied.txt"))
	if err != nil || string(data) != "via proxy" {
		t.Errorf("downloaded %q (%v)", data, err)
	}
}
