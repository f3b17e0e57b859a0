package dockerfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moby/patternmatcher/ignorefile"
)

// defaultNames are tried in order when no -f is given. "dockerfile" is the
// docker CLI's fallback for case-sensitive file systems.
var defaultNames = []string{"Dockerfile", "dockerfile", "Containerfile"}

// Locate finds the Dockerfile: file as given (relative to the current
// directory, as docker does), or with file "" the first of Dockerfile,
// dockerfile and Containerfile in contextDir. It returns an absolute path.
// A missing file is an error that matches fs.ErrNotExist. "-" (stdin) is the
// caller's business.
func Locate(contextDir, file string) (string, error) {
	if file != "" {
		p, err := filepath.Abs(file)
		if err != nil {
			return "", fmt.Errorf("locating Dockerfile %s: %w", file, err)
		}
		if err := checkRegular(p); err != nil {
			return "", fmt.Errorf("locating Dockerfile: %w", err)
		}
		return p, nil
	}
	dir, err := filepath.Abs(contextDir)
	if err != nil {
		return "", fmt.Errorf("locating Dockerfile in %s: %w", contextDir, err)
	}
	for _, name := range defaultNames {
		p := filepath.Join(dir, name)
		err := checkRegular(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("locating Dockerfile: %w", err)
		}
	}
	return "", fmt.Errorf("locating Dockerfile: no Dockerfile or Containerfile in %s: %w", dir, fs.ErrNotExist)
}

func checkRegular(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a Dockerfile", p)
	}
	return nil
}

// ReadIgnore reads the build context's ignore patterns. A
// <Dockerfile>.dockerignore next to the Dockerfile (app.Dockerfile →
// app.Dockerfile.dockerignore) wins over contextDir/.dockerignore, as in
// BuildKit. dockerfilePath may be "" (Dockerfile from stdin). No ignore
// file is not an error: patterns and ignoreFile are then empty.
func ReadIgnore(contextDir, dockerfilePath string) (patterns []string, ignoreFile string, err error) {
	var candidates []string
	if dockerfilePath != "" {
		candidates = append(candidates, dockerfilePath+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(contextDir, ".dockerignore"))
	for _, p := range candidates {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading ignore file: %w", err)
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf("reading ignore file %s: %w", p, err)
		}
		return patterns, p, nil
	}
	return nil, "", nil
}
