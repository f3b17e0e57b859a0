package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
)

// busyboxRoot makes a store holding the busybox base image, for builds
// that really run (root, an OCI runtime, overlayfs).
func busyboxRoot(t *testing.T) string {
	t.Helper()
	testenv.RequiresRoot(t)
	if testing.Short() {
		t.Skip("real builds are skipped in -short mode")
	}
	root := t.TempDir()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutImage(context.Background(), testenv.BusyboxImage(t), "localhost/busybox:latest"); err != nil {
		t.Fatal(err)
	}
	return root
}

func dockerfileDir(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFailedBuildReport builds a Dockerfile whose RUN fails, in each
// progress mode, and checks the report: the step's whole output, the
// Dockerfile lines around it with the failing one marked, exit code 1.
func TestFailedBuildReport(t *testing.T) {
	root := busyboxRoot(t)
	dir := dockerfileDir(t, "FROM localhost/busybox:latest\nRUN echo before\nRUN echo out1; echo out2; \\\n    echo err >&2; exit 3\nCMD [\"sh\"]\n")
	report := []string{
		" > [stage-0 2/3] RUN echo out1; echo out2;",
		// stdout and stderr are separate pipes: their lines may interleave.
		"\nout1\n",
		"\nout2\n",
		"\nerr\n",
		"Dockerfile:3-4\n--------------------\n   1 |     FROM localhost/busybox:latest\n   2 |     RUN echo before\n   3 | >>> RUN echo out1; echo out2; \\\n   4 | >>>     echo err >&2; exit 3\n   5 |     CMD [\"sh\"]\n--------------------\n",
		"zbuild: Dockerfile:3: RUN echo out1",
	}
	tests := []struct {
		mode string
		want []string
	}{
		{"plain", append([]string{"#2 [stage-0 2/3] RUN echo out1", "#2 out1\n", "#2 ERROR: "}, report...)},
		{"json", append([]string{`"kind":"step.failed"`}, report...)},
		{"quiet", report},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			code, stdout, stderr := run(t, "", "--root", root, "build", "--progress", tt.mode, dir)
			if code != ExitFailed {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, ExitFailed, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.mode == "json" {
				// Every line up to the report is one event object.
				for _, line := range strings.Split(stderr[:strings.Index(stderr, "------")], "\n") {
					if line != "" && !json.Valid([]byte(line)) {
						t.Errorf("not a JSON line: %q", line)
					}
				}
			}
		})
	}
}

// TestBuildSummaryAndQuiet checks the end of a successful build: the
// summary in plain mode, CACHED steps when built again, and -q printing the
// image ID alone.
func TestBuildSummaryAndQuiet(t *testing.T) {
	root := busyboxRoot(t)
	dir := dockerfileDir(t, "FROM localhost/busybox:latest\nRUN echo hi > /hi\nENV A=b\n")
	id := regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`)
	tests := []struct {
		name   string
		args   []string
		stderr []string
		quiet  bool
	}{
		{"plain", []string{"--progress", "plain", "-t", "localhost/sum:1"}, []string{"#1 [stage-0 1/2] RUN echo hi > /hi\n#1 not cached: no cache record\n#1 DONE ", "tags    localhost/sum:1\n", "steps   2 run, 0 cached\n", "2 layers; this build wrote 1"}, false},
		{"plain again", []string{"--progress", "plain", "-t", "localhost/sum:1"}, []string{"#1 CACHED\n", "steps   1 run, 1 cached\n"}, false},
		{"quiet", []string{"-q"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", append(append([]string{"--root", root, "build"}, tt.args...), dir)...)
			if code != ExitOK {
				t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.quiet && (!id.MatchString(stdout) || stderr != "") {
				t.Errorf("-q: stdout %q (want the image ID alone), stderr %q (want nothing)", stdout, stderr)
			}
		})
	}
}

// --progress-timestamps prefixes plain output lines with the time since
// their step started, as BuildKit's plain output does.
func TestPlainTimestampsFlag(t *testing.T) {
	root := busyboxRoot(t)
	dir := dockerfileDir(t, "FROM localhost/busybox:latest\nRUN echo stamped\n")
	code, _, stderr := run(t, "", "--root", root, "build", "--no-cache", "--progress", "plain", "--progress-timestamps", dir)
	if code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^#1 \d+\.\d{3} stamped$`).MatchString(stderr) {
		t.Errorf("no timestamped output line:\n%s", stderr)
	}
}
