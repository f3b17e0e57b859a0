package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/zbuild/zbuild/build"
)

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestEveryCommandHasHelpAndExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if c.Short == "" {
			t.Errorf("%s has no short help", c.CommandPath())
		}
		if c.Runnable() && c.Example == "" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(New(nil, &bytes.Buffer{}, &bytes.Buffer{}))
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nRUNN echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"version", []string{"version"}, ExitOK, ""},
		{"unknown command", []string{"frobnicate"}, ExitUsage, "unknown command"},
		{"unknown flag", []string{"plan", "--bogus", dir}, ExitUsage, "unknown flag"},
		{"missing context", []string{"plan"}, ExitUsage, "expected 1 argument"},
		{"bad build arg", []string{"plan", "--build-arg", "=x", dir}, ExitUsage, "--build-arg"},
		{"bad network", []string{"build", "--network", "bridge", dir}, ExitUsage, "--network"},
		{"bad pull", []string{"build", "--pull=sometimes", dir}, ExitUsage, "--pull"},
		{"bad output", []string{"build", "--output", "type=s3", dir}, ExitUsage, "--output"},
		{"context not a dir", []string{"plan", filepath.Join(dir, "nope")}, ExitUsage, "not a directory"},
		{"dockerfile error", []string{"plan", dir}, ExitUsage, "RUNN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, "", tt.args...)
			if code != tt.want {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.want, stderr)
			}
			if tt.msg != "" && !strings.Contains(stderr, tt.msg) {
				t.Fatalf("stderr %q does not mention %q", stderr, tt.msg)
			}
		})
	}
}

func TestExitCodeMapping(t *testing.T) {
	if got := ExitCode(errors.New("step failed")); got != ExitFailed {
		t.Errorf("plain error: %d", got)
	}
	if got := ExitCode(&build.UsageError{Flag: "-x"}); got != ExitUsage {
		t.Errorf("usage error: %d", got)
	}
	if got := ExitCode(nil); got != ExitOK {
		t.Errorf("nil: %d", got)
	}
}

func TestPlanFromStdinTextAndJSON(t *testing.T) {
	dir := t.TempDir()
	df := "ARG V=1\nFROM busybox:${V} AS base\nRUN echo $V\nFROM scratch AS unused\nFROM base\nCOPY --from=base /bin/sh /sh\n"
	code, out, stderr := run(t, df, "plan", "-f", "-", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"stage 0 (base) FROM busybox:1", "not needed by the target", "copy /bin/sh -> /sh from stage 0 (base)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text plan lacks %q:\n%s", want, out)
		}
	}
	code, out, stderr = run(t, df, "plan", "--format", "json", "-f", "-", "--build-arg", "V=2", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, `"ref": "busybox:2"`) {
		t.Errorf("json plan does not apply the build arg:\n%s", out)
	}
}

func TestBuildFlagsOptions(t *testing.T) {
	f := buildFlags{
		file: "-", tags: []string{"a:1"}, buildArgs: []string{"X=1,2"}, platform: "linux/arm64",
		pull: "never", outputs: []string{"type=oci,dest=o.tar"}, secrets: []string{"id=s,src=/f"},
		network: "none", labels: []string{"k=v"}, progress: "plain", sourceDateEpoch: "10",
	}
	opts, err := f.options("ctx", strings.NewReader("FROM scratch\n"))
	if err != nil {
		t.Fatal(err)
	}
	if opts.BuildArgs["X"] != "1,2" || opts.Labels["k"] != "v" || opts.Pull != build.PullNever ||
		opts.Network != "none" || len(opts.Outputs) != 1 || opts.Outputs[0].Type != "oci" ||
		opts.Platforms[0].Architecture != "arm64" || string(opts.DockerfileContent) != "FROM scratch\n" ||
		opts.SourceDateEpoch.Unix() != 10 || opts.Secrets[0].Src != "/f" {
		t.Fatalf("unexpected options: %+v", opts)
	}
	f = buildFlags{pull: "missing", network: "default", progress: "auto", sourceDateEpoch: "yesterday"}
	if _, err := f.options("ctx", nil); err == nil {
		t.Fatal("bad --source-date-epoch accepted")
	}
}
