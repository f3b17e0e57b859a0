package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/zbuild/zbuild"

// deps lists the packages pkg imports: transitively, or only directly.
func deps(t *testing.T, pkg string, direct bool) []string {
	t.Helper()
	args := []string{"list", "-deps", module + "/" + pkg}
	if direct {
		args = []string{"list", "-f", `{{join .Imports "\n"}}`, module + "/" + pkg}
	}
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestDependencyRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	rules := []struct {
		pkg       string
		forbidden []string // prefixes within the module
		reason    string
		direct    bool // check direct imports only
	}{
		{"plan", []string{"/"}, "plan is pure data: it imports no other zbuild package", false},
		{"frontend/dockerfile", []string{"/internal/", "/build"}, "front-ends produce plans; they do not run them", false},
		{"internal/worker/linux", []string{"/frontend/", "/build", "/internal/engine"}, "workers know nothing of Dockerfiles or the engine", false},
		{"internal/layer", []string{"/frontend/", "/internal/engine", "/internal/store"}, "layers are written from a directory, nothing more", false},
		{"internal/store", []string{"/frontend/", "/internal/engine", "/internal/worker"}, "the store keeps blobs and images only", false},
		{"internal/engine", []string{"/internal/cli", "/build"}, "the engine does not depend on its callers", false},
		{"build", []string{"/internal/cli"}, "the library does not depend on the CLI", false},
		{"internal/cli", []string{"/internal/"}, "the CLI is a thin layer over the public build API", true},
	}
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			for _, d := range deps(t, r.pkg, r.direct) {
				if d == module+"/"+r.pkg || !strings.HasPrefix(d, module) {
					continue
				}
				rest := strings.TrimPrefix(d, module)
				for _, f := range r.forbidden {
					if strings.HasPrefix(rest, f) {
						t.Errorf("%s imports %s: %s", r.pkg, d, r.reason)
					}
				}
			}
		})
	}
}
