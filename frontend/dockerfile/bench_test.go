package dockerfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// benchCases is where the team's benchmark Dockerfiles live.
const benchCases = "/work/shared/bench/cases"

// TestBenchDockerfiles converts the benchmark Dockerfiles and checks the
// shape of each plan: the kinds of the target's steps, and which stages are
// needed.
func TestBenchDockerfiles(t *testing.T) {
	if _, err := os.Stat(benchCases); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s does not exist on this machine", benchCases)
	}
	want := map[string]struct {
		kinds  string // the target's step kinds, space separated
		needed []int
	}{
		"01-tiny":        {"config config config config run copy config", []int{0}},
		"02-many-steps":  {"config" + strings.Repeat(" run", 15) + " copy" + strings.Repeat(" run", 15), []int{0}},
		"03-copy-heavy":  {"copy copy", []int{0}},
		"04-multi-stage": {"copy config", []int{0, 1, 2}},
		"05-debian-apt":  {"run copy", []int{0}},
		"06-cache-mount": {"config copy run", []int{0}},
	}
	files, err := filepath.Glob(filepath.Join(benchCases, "*", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res := convert(t, string(src), Options{})
			if len(res.Warnings) > 0 {
				t.Errorf("warnings: %+v", res.Warnings)
			}
			w, ok := want[name]
			if !ok {
				t.Skipf("no expectations for bench case %s", name)
			}
			g := res.Graph
			var kinds []string
			for _, s := range g.Stages[g.Target].Steps {
				kinds = append(kinds, s.Kind())
			}
			if got := strings.Join(kinds, " "); got != w.kinds {
				t.Errorf("step kinds %q, want %q", got, w.kinds)
			}
			if got := g.Needed(); !slices.Equal(got, w.needed) {
				t.Errorf("needed %v, want %v", got, w.needed)
			}
		})
	}
}
