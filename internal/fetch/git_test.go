package fetch

import (
	"context"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseGit(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		s       string
		want    GitRef
		wantErr string
	}{
		{s: "https://example.com/repo.git", want: GitRef{Remote: "https://example.com/repo.git"}},
		{s: "https://example.com/repo.git#v1", want: GitRef{Remote: "https://example.com/repo.git", Ref: "v1"}},
		{s: "https://example.com/repo.git#main:docs/../site/", want: GitRef{Remote: "https://example.com/repo.git", Ref: "main", Subdir: "site"}},
		{s: "https://example.com/repo.git#:sub", want: GitRef{Remote: "https://example.com/repo.git", Subdir: "sub"}},
		{s: "https://user:tok@example.com/repo.git#v1", want: GitRef{Remote: "https://user:tok@example.com/repo.git", Ref: "v1"}},
		{s: "git://example.com/repo#dev", want: GitRef{Remote: "git://example.com/repo", Ref: "dev"}},
		{s: "ssh://git@example.com:2222/repo.git", want: GitRef{Remote: "ssh://git@example.com:2222/repo.git"}},
		{s: "git@github.com:moby/buildkit.git#v0.1:frontend", want: GitRef{Remote: "git@github.com:moby/buildkit.git", Ref: "v0.1", Subdir: "frontend"}},
		{s: "git@github.com:moby/buildkit.git?tag=v0.1", want: GitRef{Remote: "git@github.com:moby/buildkit.git", Ref: "refs/tags/v0.1"}},
		{s: "https://example.com/repo.git?branch=dev&subdir=x", want: GitRef{Remote: "https://example.com/repo.git", Ref: "refs/heads/dev", Subdir: "x"}},
		{s: "https://example.com/repo.git?ref=v1&checksum=abc1234&keep-git-dir=true&submodules=false",
			want: GitRef{Remote: "https://example.com/repo.git", Ref: "v1", Checksum: "abc1234", KeepGitDir: &yes, Submodules: &no}},
		{s: "https://example.com/repo.git?keep-git-dir", want: GitRef{Remote: "https://example.com/repo.git", KeepGitDir: &yes}},
		// After "#" everything is the fragment, "?" included.
		{s: "https://example.com/repo.git#v1?ref=v2", want: GitRef{Remote: "https://example.com/repo.git", Ref: "v1?ref=v2"}},
		{s: "https://example.com/repo.git?ref=v1#v2", wantErr: "ref conflicts"},
		{s: "https://example.com/repo.git?tag=a&branch=b", wantErr: "branch conflicts with tag"},
		{s: "https://example.com/repo.git?bogus=1", wantErr: "unsupported query"},
		{s: "https://example.com/repo.git?keep-git-dir=maybe", wantErr: "invalid keep-git-dir"},
		{s: "https://example.com/file.txt", wantErr: "not a git repository"},
		{s: "github.com/moby/buildkit", wantErr: "not a git repository"},
	}
	for _, tc := range cases {
		t.Run(tc.s, func(t *testing.T) {
			got, err := ParseGit(tc.s)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// gitFixture is a set of repositories served over smart and dumb HTTP on
// 127.0.0.1: repo.git has two commits (tag v1 and branch dev on the first),
// and withsub.git adds lib.git as a submodule.
type gitFixture struct {
	root          string
	first, second string
	url           string // smart HTTP base, e.g. http://127.0.0.1:1234
	dumbURL       string // dumb HTTP base
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func newGitFixture(t *testing.T) *gitFixture {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed (apt-get install git)")
	}
	backend := "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git-http-backend not found: needed to serve repositories over HTTP")
	}
	f := &gitFixture{root: t.TempDir()}
	srv := filepath.Join(f.root, "srv")
	work := filepath.Join(f.root, "work")
	for _, d := range []string{srv, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	smart := httptest.NewServer(&cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + srv, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"},
	})
	t.Cleanup(smart.Close)
	dumb := httptest.NewServer(http.FileServer(http.Dir(srv)))
	t.Cleanup(dumb.Close)
	f.url, f.dumbURL = smart.URL, dumb.URL

	write := func(p, data string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runGit(t, work, "init", "-q", "-b", "main")
	write("a.txt", "first")
	write("docs/readme.md", "docs v1")
	runGit(t, work, "add", ".")
	runGit(t, work, "commit", "-q", "-m", "one")
	runGit(t, work, "tag", "v1")
	runGit(t, work, "branch", "dev")
	f.first = runGit(t, work, "rev-parse", "HEAD")
	write("a.txt", "second")
	write("sub/inner.txt", "inner")
	runGit(t, work, "add", ".")
	runGit(t, work, "commit", "-q", "-m", "two")
	f.second = runGit(t, work, "rev-parse", "HEAD")
	runGit(t, f.root, "clone", "-q", "--bare", work, filepath.Join(srv, "repo.git"))
	runGit(t, filepath.Join(srv, "repo.git"), "update-server-info")

	lib := filepath.Join(f.root, "libwork")
	if err := os.Mkdir(lib, 0o755); err != nil {
		t.Fatal(err)
	}
	runGit(t, lib, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(lib, "lib.txt"), []byte("lib"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, lib, "add", ".")
	runGit(t, lib, "commit", "-q", "-m", "lib")
	runGit(t, f.root, "clone", "-q", "--bare", lib, filepath.Join(srv, "lib.git"))
	runGit(t, work, "submodule", "add", "-q", f.url+"/lib.git", "vendor/lib")
	runGit(t, work, "commit", "-q", "-m", "submodule")
	runGit(t, f.root, "clone", "-q", "--bare", work, filepath.Join(srv, "withsub.git"))
	return f
}

func readAll(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case p == root:
		case d.IsDir():
			if d.Name() == ".git" {
				out[filepath.ToSlash(rel)] = "<git dir>"
				return filepath.SkipDir
			}
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGit(t *testing.T) {
	f := newGitFixture(t)
	second := map[string]string{"a.txt": "second", "docs/readme.md": "docs v1", "sub/inner.txt": "inner"}
	first := map[string]string{"a.txt": "first", "docs/readme.md": "docs v1"}
	cases := []struct {
		name    string
		url     string
		keep    bool
		want    map[string]string
		wantErr string
	}{
		{name: "default branch", url: f.url + "/repo.git", want: second},
		{name: "tag", url: f.url + "/repo.git#v1", want: first},
		{name: "branch", url: f.url + "/repo.git#dev", want: first},
		{name: "full commit", url: f.url + "/repo.git#" + f.first, want: first},
		{name: "short commit", url: f.url + "/repo.git#" + f.first[:10], want: first},
		{name: "subdir", url: f.url + "/repo.git#v1:docs", want: map[string]string{"readme.md": "docs v1"}},
		{name: "query form", url: f.url + "/repo.git?tag=v1&subdir=docs", want: map[string]string{"readme.md": "docs v1"}},
		{name: "checksum", url: f.url + "/repo.git?ref=v1&checksum=" + f.first, want: first},
		{name: "keep .git", url: f.url + "/repo.git#v1", keep: true, want: map[string]string{"a.txt": "first", "docs/readme.md": "docs v1", ".git": "<git dir>"}},
		{name: "keep .git by query", url: f.url + "/repo.git?ref=v1&keep-git-dir=true", want: map[string]string{"a.txt": "first", "docs/readme.md": "docs v1", ".git": "<git dir>"}},
		{name: "dumb http", url: f.dumbURL + "/repo.git#v1", want: first},
		{name: "submodules", url: f.url + "/withsub.git", want: map[string]string{
			"a.txt": "second", "docs/readme.md": "docs v1", "sub/inner.txt": "inner", "vendor/lib/lib.txt": "lib",
			".gitmodules": "[submodule \"vendor/lib\"]\n\tpath = vendor/lib\n\turl = " + f.url + "/lib.git\n",
		}},
		{name: "submodules off", url: f.url + "/withsub.git?submodules=false", want: map[string]string{
			"a.txt": "second", "docs/readme.md": "docs v1", "sub/inner.txt": "inner",
			".gitmodules": "[submodule \"vendor/lib\"]\n\tpath = vendor/lib\n\turl = " + f.url + "/lib.git\n",
		}},
		{name: "checksum mismatch", url: f.url + "/repo.git?ref=v1&checksum=" + f.second, wantErr: "checksum mismatch"},
		{name: "missing ref", url: f.url + "/repo.git#nosuchref", wantErr: "git fetch"},
		{name: "missing subdir", url: f.url + "/repo.git#v1:nope", wantErr: "not a directory"},
		{name: "missing repository", url: f.url + "/nope.git", wantErr: "git fetch"},
		{name: "not git", url: f.url + "/file.txt", wantErr: "not a git repository"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "checkout")
			err := Git(context.Background(), tc.url, tc.keep, dst)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if left, _ := os.ReadDir(parent); len(left) != 0 {
					t.Errorf("a failed checkout left %v behind", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, dst)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("checkout holds %v, want %v", got, tc.want)
			}
			if left, _ := os.ReadDir(parent); len(left) != 1 {
				t.Errorf("parent holds %v, want only the checkout", left)
			}
		})
	}
	t.Run("existing destination", func(t *testing.T) {
		err := Git(context.Background(), f.url+"/repo.git", false, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := Git(ctx, f.url+"/repo.git", false, filepath.Join(t.TempDir(), "c"))
		if err == nil {
			t.Fatal("Git succeeded with a cancelled context")
		}
	})
}
