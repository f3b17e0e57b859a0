package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// ExpectFile is the name of a case's optional expectations file.
const ExpectFile = "expect.json"

// Case is one directory of the corpus: a Dockerfile, its context files and
// what the builds must produce.
type Case struct {
	// Name is the directory name.
	Name string
	// Dir is the case directory; it is the build context.
	Dir string
	Expect
}

// Expect is the content of expect.json. Every field is optional.
type Expect struct {
	// Fail says every implementation must reject the build.
	Fail bool `json:"fail,omitempty"`
	// BuildArgs are passed as --build-arg, besides BASE.
	BuildArgs map[string]string `json:"buildArgs,omitempty"`
	// Target is the stage to build (--target).
	Target string `json:"target,omitempty"`
	// Secrets maps a secret id to a file of the case directory.
	Secrets map[string]string `json:"secrets,omitempty"`
	// Files are Docker's results for chosen paths, checked on every
	// implementation: they pin the behaviour where buildah and Docker differ.
	Files map[string]FileCheck `json:"files,omitempty"`
	// Config pins image config fields ("config.OnBuild") to Docker's
	// value, in the canonical JSON of Snapshot.Config ("" is unset).
	Config map[string]string `json:"config,omitempty"`
	// Known lists, per implementation ("native", "buildah"), a difference
	// from Docker's behaviour that is understood and documented.
	Known map[string]Known `json:"known,omitempty"`
}

// FileCheck is what one path of the final root file system must be.
type FileCheck struct {
	// Absent says the path must not exist.
	Absent bool `json:"absent,omitempty"`
	// Type is "file", "dir", "symlink" or "hardlink"; "" is not checked.
	Type string `json:"type,omitempty"`
	// Mode is the octal permission bits ("0644"); "" is not checked.
	Mode string `json:"mode,omitempty"`
	// UID and GID are checked when set.
	UID *int `json:"uid,omitempty"`
	GID *int `json:"gid,omitempty"`
	// Content is the exact file content when set.
	Content *string `json:"content,omitempty"`
	// Link is the symlink or hard link target when set.
	Link *string `json:"link,omitempty"`
}

// Known is a documented difference of one implementation from Docker.
type Known struct {
	// Reason says what differs and why Docker's behaviour is the reference.
	Reason string `json:"reason"`
	// Ignore lists the keys (file paths or "config.Field") left out of the
	// comparison with the other implementations.
	Ignore []string `json:"ignore,omitempty"`
	// Skip says the implementation's result is not compared at all (for
	// example when it fails a build Docker accepts).
	Skip bool `json:"skip,omitempty"`
}

// LoadCases reads every case directory under dir, sorted by name.
func LoadCases(dir string) ([]Case, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the corpus: %w", err)
	}
	var cases []Case
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := Case{Name: e.Name(), Dir: filepath.Join(dir, e.Name())}
		if _, err := os.Stat(filepath.Join(c.Dir, "Dockerfile")); err != nil {
			return nil, fmt.Errorf("case %s: %w", c.Name, err)
		}
		data, err := os.ReadFile(filepath.Join(c.Dir, ExpectFile))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("case %s: %w", c.Name, err)
		default:
			if err := decodeStrict(data, &c.Expect); err != nil {
				return nil, fmt.Errorf("case %s: parsing %s: %w", c.Name, ExpectFile, err)
			}
		}
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

// decodeStrict rejects unknown fields, so a typo in expect.json is not a
// silently skipped check.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// cliArgs are the `docker build`/`buildah build` arguments a case adds to
// its builder's own: build args, target and secrets (in a stable order),
// then the context directory.
func (c Case) cliArgs() []string {
	var args []string
	for _, k := range sortedKeys(c.BuildArgs) {
		args = append(args, "--build-arg", k+"="+c.BuildArgs[k])
	}
	if c.Target != "" {
		args = append(args, "--target", c.Target)
	}
	for _, id := range sortedKeys(c.Secrets) {
		args = append(args, "--secret", "id="+id+",src="+filepath.Join(c.Dir, c.Secrets[id]))
	}
	return append(args, c.Dir)
}
