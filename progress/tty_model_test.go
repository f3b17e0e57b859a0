package progress

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestLiveAreaFits plays the script up to its busiest moment and checks the
// live area on terminals of several sizes: no line wider than the screen,
// never taller than it, and every running step visible or counted.
func TestLiveAreaFits(t *testing.T) {
	tests := []struct {
		name          string
		width, height int
		utf8          bool
		want          []string
	}{
		{"wide", 120, 40, true, []string{"[deps 2/2] RUN make deps", "│ fetching deps…", "│ héllo wörld 日本", "[stage-1 1/1] RUN <<EOF …"}},
		{"narrow", 24, 40, true, []string{"[+] Building"}},
		{"short", 80, 4, false, []string{"| [deps 2/2] RUN make deps", "| [stage-1 1/1] RUN <<EOF"}},
		{"shorter", 80, 3, false, []string{"... and 2 more running"}},
		{"tiny", 10, 1, false, []string{"[+] Building"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"LANG": "C"}
			if tt.utf8 {
				env["LANG"] = "en_US.UTF-8"
			}
			m := newModel(newLook(func(k string) string { return env[k] }), t0)
			m.width, m.height = tt.width, tt.height
			for _, e := range script()[:10] { // both RUN steps running, with output
				m.apply(e)
			}
			lines := m.lines()
			if len(lines) > max(tt.height-1, 2) {
				t.Errorf("%d lines on a %d-line screen:\n%s", len(lines), tt.height, strings.Join(lines, "\n"))
			}
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > max(tt.width, 20) {
					t.Errorf("line %q is %d cells wide on a %d-cell screen", ansi.Strip(l), w, tt.width)
				}
			}
			screen := ansi.Strip(strings.Join(lines, "\n"))
			for _, w := range tt.want {
				if !strings.Contains(screen, w) {
					t.Errorf("live area lacks %q:\n%s", w, screen)
				}
			}
			if !tt.utf8 && strings.ContainsAny(screen, "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏│✔") {
				t.Errorf("non-UTF-8 locale got UTF-8 glyphs:\n%s", screen)
			}
		})
	}
}
