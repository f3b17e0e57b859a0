package buildah_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/zbuild/zbuild/backend/buildah"
	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/testenv"
	"github.com/zbuild/zbuild/progress"
)

// env is a buildah storage in a temp dir and a registry serving busybox.
type env struct {
	cli  *buildah.CLI
	base string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("buildah builds skipped in -short mode")
	}
	testenv.RequiresRoot(t)
	testenv.RequiresBinary(t, "buildah")
	testenv.RequiresBinary(t, "runc")
	dir := t.TempDir()
	// A file limit under this host's hard limit: buildah's default
	// (1048576) fails where the hard limit is lower.
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = [\"nofile=1024:1024\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONTAINERS_CONF", conf)
	cli := &buildah.CLI{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "runroot"), StorageDriver: "overlay", Runtime: "runc", Isolation: "oci"}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = cli.Output(ctx, "rmi", "--all", "--force")
		unmountUnder(t, dir)
	})
	reg := testenv.StartRegistry(t)
	return &env{cli: cli, base: testenv.PushBusybox(t, reg)}
}

// plan turns a Dockerfile into a plan with build-arg BASE set to the base.
func (e *env) plan(t *testing.T, dockerfile string, files map[string]string) (*build.PlanResult, string) {
	t.Helper()
	dir := t.TempDir()
	files["Dockerfile"] = dockerfile
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pr, err := build.Plan(t.Context(), build.Options{ContextDir: dir, BuildArgs: map[string]string{"BASE": e.base}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pr, dir
}

// leftovers lists the containers and images in buildah's storage.
func (e *env) leftovers(t *testing.T) (containers, images []string) {
	t.Helper()
	c, err := e.cli.Output(context.Background(), "containers", "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	i, err := e.cli.Output(context.Background(), "images", "--all", "--quiet", "--no-trunc")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(c), strings.Fields(i)
}

func TestBuild(t *testing.T) {
	e := newEnv(t)
	pr, dir := e.plan(t, `ARG BASE
FROM ${BASE} AS build
RUN mkdir /out && echo built > /out/result
FROM ${BASE} AS side
RUN echo side > /side
FROM ${BASE}
ENV GREETING=hello
WORKDIR /app
COPY a.txt .
COPY --from=build /out/result /app/
COPY --from=side /side /app/
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /app/secret-seen
CMD ["cat", "/app/a.txt"]
`, map[string]string{"a.txt": "a\n"})
	var started atomic.Int32 // stages run in parallel
	res, err := buildah.Build(t.Context(), e.cli, pr.Graph, buildah.Options{
		ContextDir: dir,
		Secrets:    map[string][]byte{"tok": []byte("s3cret")},
		Tags:       []string{"localhost/test/result:1"},
		Labels:     map[string]string{"extra": "yes"},
		Progress: progress.SinkFunc(func(ev progress.Event) {
			if ev.Kind == progress.StepStarted {
				started.Add(1)
			}
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	got := map[string]string{}
	readFiles(t, res, got)
	for path, want := range map[string]string{"/app/a.txt": "a\n", "/app/result": "built\n", "/app/side": "side\n", "/app/secret-seen": "s3cret"} {
		if got[path] != want {
			t.Errorf("%s = %q, want %q", path, got[path], want)
		}
	}
	if _, ok := got["/run/secrets/tok"]; ok {
		t.Error("the secret's mount point is in the image")
	}
	cfg, err := res.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.WorkingDir != "/app" || cfg.Config.Labels["extra"] != "yes" || strings.Join(cfg.Config.Cmd, " ") != "cat /app/a.txt" {
		t.Errorf("config = %+v", cfg.Config)
	}
	// build 1, side 1, the last stage 7.
	if n := started.Load(); n != 9 {
		t.Errorf("%d steps started, want 9", n)
	}
	containers, images := e.leftovers(t)
	if len(containers) != 0 {
		t.Errorf("containers left behind: %v", containers)
	}
	// The base and the tagged result, no intermediate image.
	if len(images) != 2 {
		t.Errorf("images left: %v, want the base and the result", images)
	}
}

func TestBuildFailureCleansUp(t *testing.T) {
	e := newEnv(t)
	pr, dir := e.plan(t, "ARG BASE\nFROM ${BASE}\nRUN echo one > /one\nRUN echo oops; exit 3\n", map[string]string{})
	var (
		mu     sync.Mutex
		output []string
	)
	_, err := buildah.Build(t.Context(), e.cli, pr.Graph, buildah.Options{ContextDir: dir, Progress: progress.SinkFunc(func(ev progress.Event) {
		if ev.Kind == progress.StepOutput {
			mu.Lock()
			output = append(output, ev.Line)
			mu.Unlock()
		}
	})})
	var se *buildah.StepError
	if !errors.As(err, &se) || !strings.Contains(se.Step.Text, "exit 3") {
		t.Fatalf("err = %v, want the failing RUN step", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(output, "\n"), "oops") {
		t.Errorf("step output not reported: %q", output)
	}
	containers, images := e.leftovers(t)
	if len(containers) != 0 || len(images) != 1 {
		t.Errorf("left behind: containers %v, images %v (want only the base)", containers, images)
	}
}

func TestBuildCancelCleansUp(t *testing.T) {
	e := newEnv(t)
	pr, dir := e.plan(t, "ARG BASE\nFROM ${BASE}\nRUN echo one > /one\nRUN echo waiting; exec sleep 600\n", map[string]string{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := buildah.Build(ctx, e.cli, pr.Graph, buildah.Options{ContextDir: dir, Progress: progress.SinkFunc(func(ev progress.Event) {
		// Cancel once the long step is surely running.
		if ev.Kind == progress.StepOutput && ev.Line == "waiting" {
			cancel()
		}
	})})
	if err == nil {
		t.Fatal("a cancelled build succeeded")
	}
	containers, images := e.leftovers(t)
	if len(containers) != 0 || len(images) != 1 {
		t.Errorf("left behind: containers %v, images %v (want only the base)", containers, images)
	}
}

func TestUnsupportedFeature(t *testing.T) {
	e := newEnv(t)
	pr, dir := e.plan(t, "ARG BASE\nFROM ${BASE}\nCOPY --parents a.txt /x/\n", map[string]string{"a.txt": "a"})
	_, err := buildah.Build(t.Context(), e.cli, pr.Graph, buildah.Options{ContextDir: dir})
	var ue *buildah.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want an UnsupportedError", err)
	}
	if containers, _ := e.leftovers(t); len(containers) != 0 {
		t.Errorf("containers left behind: %v", containers)
	}
}

func readFiles(t *testing.T, res *buildah.Result, out map[string]string) {
	t.Helper()
	rc := mutate.Extract(res.Image)
	defer rc.Close()
	if err := tarFiles(rc, out); err != nil {
		t.Fatal(err)
	}
}
