package dockerfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocate(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		file     string // -f, relative to the temp dir (the working directory)
		want     string // relative to the temp dir; "" when an error is expected
		notExist bool
	}{
		{"Dockerfile", map[string]string{"ctx/Dockerfile": "", "ctx/Containerfile": ""}, "", "ctx/Dockerfile", false},
		{"Containerfile", map[string]string{"ctx/Containerfile": ""}, "", "ctx/Containerfile", false},
		{"none", map[string]string{"ctx/README": ""}, "", "", true},
		{"explicit file relative to the working directory", map[string]string{"build/app.Dockerfile": "", "ctx/Dockerfile": ""}, "build/app.Dockerfile", "build/app.Dockerfile", false},
		{"explicit file missing", map[string]string{"ctx/Dockerfile": ""}, "nope.Dockerfile", "", true},
		{"explicit directory", map[string]string{"ctx/Dockerfile": ""}, "ctx", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			t.Chdir(dir)
			got, err := Locate("ctx", tt.file)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Locate = %q, want an error", got)
				}
				if errors.Is(err, fs.ErrNotExist) != tt.notExist {
					t.Errorf("error %v: not-exist %v, want %v", err, !tt.notExist, tt.notExist)
				}
				return
			}
			if err != nil {
				t.Fatalf("Locate: %v", err)
			}
			// The temp dir may sit behind a symlink; compare resolved paths.
			want, _ := filepath.EvalSymlinks(filepath.Join(dir, tt.want))
			if resolved, _ := filepath.EvalSymlinks(got); resolved != want || !filepath.IsAbs(got) {
				t.Errorf("Locate = %q, want %q", got, want)
			}
		})
	}
}

func TestReadIgnore(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		dockerfile string // relative to the temp dir; "" is stdin
		patterns   []string
		file       string // relative to the temp dir
	}{
		{"no ignore file", map[string]string{"ctx/Dockerfile": ""}, "ctx/Dockerfile", nil, ""},
		{"context .dockerignore", map[string]string{"ctx/Dockerfile": "", "ctx/.dockerignore": "# comment\n/build/\n./node_modules\n*.log\n!keep.log\n"},
			"ctx/Dockerfile", []string{"build", "node_modules", "*.log", "!keep.log"}, "ctx/.dockerignore"},
		{"Dockerfile-specific ignore wins", map[string]string{"ctx/app.Dockerfile": "", "ctx/app.Dockerfile.dockerignore": "dist\n", "ctx/.dockerignore": "other\n"},
			"ctx/app.Dockerfile", []string{"dist"}, "ctx/app.Dockerfile.dockerignore"},
		{"Dockerfile outside the context", map[string]string{"df/Dockerfile": "", "df/Dockerfile.dockerignore": "secret\n", "ctx/.dockerignore": "other\n"},
			"df/Dockerfile", []string{"secret"}, "df/Dockerfile.dockerignore"},
		{"Dockerfile from stdin", map[string]string{"ctx/.dockerignore": ".git\n"}, "", []string{".git"}, "ctx/.dockerignore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			df := ""
			if tt.dockerfile != "" {
				df = filepath.Join(dir, tt.dockerfile)
			}
			patterns, file, err := ReadIgnore(filepath.Join(dir, "ctx"), df)
			if err != nil {
				t.Fatalf("ReadIgnore: %v", err)
			}
			want := ""
			if tt.file != "" {
				want = filepath.Join(dir, tt.file)
			}
			if !slices.Equal(patterns, tt.patterns) || file != want {
				t.Errorf("got %q from %q, want %q from %q", patterns, file, tt.patterns, want)
			}
		})
	}
}
