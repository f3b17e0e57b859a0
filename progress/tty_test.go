package progress

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary play the scripted build through a real
// TTY view, on the terminal tmux gives it, instead of running tests.
const helperEnv = "ZBUILD_TTY_HELPER"

func TestTTYHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("runs only as the program under tmux in TestTTYInTmux")
	}
	v := NewTTY(os.Stdout)
	events, sum := script(), summary
	if mode == "fail" {
		events, sum = failScript(), nil
	}
	for i, e := range events {
		// Real time between events lets the live area draw running steps
		// and timers, as in a build; the checks do not depend on it.
		if i%4 == 0 {
			time.Sleep(150 * time.Millisecond)
		}
		// The view's timers run on the wall clock: restamp the script.
		e.Time = time.Now()
		v.Emit(e)
	}
	result := "ok"
	if err := v.Close(sum); err != nil {
		result = err.Error()
	}
	if mode == "fail" {
		os.Stdout.WriteString("view closed\n")
	}
	// tmux on this host does not always reap its pane's process, so the
	// outcome goes to a file instead of the exit status.
	if err := os.WriteFile(os.Getenv(doneEnv), []byte(result), 0o644); err != nil {
		t.Fatal(err)
	}
}

// doneEnv names the file the helper writes its outcome to.
const doneEnv = "ZBUILD_TTY_DONE"

// TestTTYInTmux runs the view on a real terminal (tmux) and checks what the
// screen and its scrollback show once it exits.
func TestTTYInTmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed (apt-get install tmux)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mode   string
		width  int
		env    []string
		want   []string
		absent []string
		colour bool
	}{
		{
			name: "wide utf8", mode: "ok", width: 100, env: []string{"LANG=C.UTF-8"},
			want: []string{
				"[+] building 3 stages",
				"✔ [deps 1/2] COPY go.mod /src/ CACHED",
				"✔ [deps 2/2] RUN make deps 2.2s 3.0 MiB",
				"✔ [stage-1 1/1] RUN <<EOF … 1.1s",
				"! WARNING: JSONArgsRecommended",
				"↓ pulled docker.io/library/busybox:latest",
				"✔ Built sha256:feedface",
				"tags    localhost/app:dev",
				"size    5.0 MiB, 3 layers; this build wrote 1",
				"steps   3 run, 1 cached",
			},
			absent: []string{"[+] Building"},
			colour: true,
		},
		{
			name: "narrow ascii no colour", mode: "ok", width: 30, env: []string{"LANG=C", "NO_COLOR=1"},
			want:   []string{"+ Built sha256:feedface", "CACHED", "steps   3 run, 1 cached"},
			absent: []string{"[+] Building", "✔"},
		},
		{
			name: "failure", mode: "fail", width: 80, env: []string{"LANG=C.UTF-8"},
			want:   []string{"✘ [stage-0 1/1] RUN false ERROR: process exited with status 1", "view closed"},
			absent: []string{"Built", "[+] Building"},
			colour: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			sock, done := filepath.Join(tmp, "tmux.sock"), filepath.Join(tmp, "done")
			run := func(args ...string) string {
				t.Helper()
				out, err := exec.Command(tmux, append([]string{"-S", sock}, args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return string(out)
			}
			cmd := append([]string{"env", helperEnv + "=" + tt.mode, doneEnv + "=" + done, "TERM=xterm-256color"}, tt.env...)
			cmd = append(cmd, exe, "-test.run=^TestTTYHelperProcess$")
			// remain-on-exit is set before the session starts, so the
			// screen outlives the program however fast it ends.
			run(append([]string{"-f", "/dev/null", "start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";",
				"new-session", "-d", "-x", strconv.Itoa(tt.width), "-y", "12", "-s", "t"}, cmd...)...)
			t.Cleanup(func() { exec.Command(tmux, "-S", sock, "kill-server").Run() })
			// Wait for the helper's outcome and for tmux to see the pane's
			// terminal close (all output drawn); the test's own deadline
			// bounds this.
			var result []byte
			for {
				var err error
				result, err = os.ReadFile(done)
				if err == nil && strings.TrimSpace(run("display-message", "-p", "-t", "t", "#{pane_dead}")) == "1" {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			screen := run("capture-pane", "-p", "-J", "-t", "t", "-S", "-200")
			if string(result) != "ok" {
				t.Fatalf("view failed: %s; screen:\n%s", result, screen)
			}
			flat := squeeze(screen)
			for _, w := range tt.want {
				if !strings.Contains(flat, squeeze(w)) {
					t.Errorf("screen lacks %q; screen:\n%s", w, screen)
				}
			}
			// Foreground colours are SGR 30–37, 90–97 or 38;…; NO_COLOR
			// keeps bold and faint only.
			coloured := sgrColour.MatchString(run("capture-pane", "-p", "-e", "-t", "t", "-S", "-200"))
			if coloured != tt.colour {
				t.Errorf("screen has colours: %v, want %v", coloured, tt.colour)
			}
			for _, a := range tt.absent {
				if strings.Contains(flat, a) {
					t.Errorf("screen still shows %q; screen:\n%s", a, screen)
				}
			}
		})
	}
}

var sgrColour = regexp.MustCompile(`\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])[;m]`)

// squeeze collapses runs of spaces, so checks do not depend on padding.
func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }
