package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/zbuild/zbuild"

// deps lists the packages pkg imports, transitively.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
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
	}{
		{"plan", []string{"/"}, "plan is pure data: it imports no other zbuild package"},
		{"frontend/dockerfile", []string{"/internal/", "/build"}, "front-ends produce plans; they do not run them"},
		{"internal/worker/linux", []string{"/frontend/", "/build", "/internal/engine"}, "workers know nothing of Dockerfiles or the engine"},
		{"internal/layer", []string{"/frontend/", "/internal/engine", "/internal/store"}, "layers are written from a directory, nothing more"},
		{"internal/store", []string{"/frontend/", "/internal/engine", "/internal/worker"}, "the store keeps blobs and images only"},
		{"internal/engine", []string{"/internal/cli", "/build"}, "the engine does not depend on its callers"},
		{"build", []string{"/internal/cli"}, "the library does not depend on the CLI"},
	}
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			for _, d := range deps(t, r.pkg) {
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
