package build_test

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
	"github.com/zbuild/zbuild/progress"
)

func TestBuildMultiStage(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	ctx := writeContext(t, map[string]string{
		"Dockerfile": `ARG BASE=` + base + `
FROM ${BASE} AS build
WORKDIR /src
COPY app.txt .
RUN --mount=type=cache,target=/cache echo cached > /cache/x && \
    mkdir -p /out && tr a-z A-Z < app.txt > /out/APP.txt && cp /cache/x /out/fromcache
FROM ${BASE} AS unused
RUN exit 1
FROM ${BASE}
LABEL version=1
ENV WHO=world
COPY --from=build /out/ /srv/
CMD ["cat", "/srv/APP.txt"]
`,
		"app.txt": "hello\n",
	})
	res, rec := buildIn(t, build.Options{ContextDir: ctx, Root: root, Tags: []string{"test/app:1"}, Labels: map[string]string{"extra": "yes"}})
	fs := files(t, res.Image)
	if got := fs["/srv/APP.txt"].data; got != "HELLO\n" {
		t.Errorf("/srv/APP.txt = %q", got)
	}
	if got := fs["/srv/fromcache"].data; got != "cached\n" {
		t.Errorf("cache mount content not seen by RUN: %q", got)
	}
	if _, ok := fs["/cache"]; ok {
		t.Error("the cache mount target leaked into the image")
	}
	cfg, err := res.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg.Config.Env, "WHO=world") || cfg.Config.Labels["version"] != "1" || cfg.Config.Labels["extra"] != "yes" {
		t.Errorf("config env/labels wrong: %+v %+v", cfg.Config.Env, cfg.Config.Labels)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"cat", "/srv/APP.txt"}) {
		t.Errorf("cmd = %v", cfg.Config.Cmd)
	}
	// Base history + LABEL, ENV, COPY, CMD; only COPY writes a layer.
	hist := cfg.History[len(cfg.History)-4:]
	wantEmpty := []bool{true, true, false, true}
	for i, h := range hist {
		if h.EmptyLayer != wantEmpty[i] {
			t.Errorf("history %d %q: empty_layer=%v", i, h.CreatedBy, h.EmptyLayer)
		}
	}
	for _, e := range rec.kinds(progress.StepStarted) {
		if e.StageName == "unused" {
			t.Error("a stage the target does not need was built")
		}
	}
	// The tag is in the store and the image runs.
	var out strings.Builder
	if err := build.RunImage(context.Background(), build.RunOptions{Root: root, Image: "test/app:1", Stdout: &out, Stderr: &out}); err != nil {
		t.Fatalf("run: %v (%s)", err, out.String())
	}
	if out.String() != "HELLO\n" {
		t.Errorf("run printed %q", out.String())
	}
}

func TestBuildFromRegistry(t *testing.T) {
	requireBuild(t)
	testenv.RequiresBinary(t, "docker-registry")
	reg := testenv.StartRegistry(t)
	ref := testenv.PushBusybox(t, reg)
	root := t.TempDir()
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM " + ref + "\nRUN echo pulled > /p\n"})
	res, rec := buildIn(t, build.Options{ContextDir: ctx, Root: root})
	if got := files(t, res.Image)["/p"].data; got != "pulled\n" {
		t.Errorf("/p = %q", got)
	}
	// The pull reported its bytes, ending at the total.
	var last progress.Event
	for _, e := range rec.kinds(progress.Pull) {
		if e.Total > 0 {
			last = e
		}
	}
	if last.Total == 0 || last.Current != last.Total {
		t.Errorf("pull progress: last byte event %+v", last)
	}
	// The base is now in the store: --pull=never works, and a missing image
	// fails clearly.
	if _, err := build.Run(context.Background(), build.Options{ContextDir: ctx, Root: root, Pull: build.PullNever}); err != nil {
		t.Fatalf("--pull=never with the base stored: %v", err)
	}
	ctx2 := writeContext(t, map[string]string{"Dockerfile": "FROM " + reg.Ref("nothere") + ":1\nRUN true\n"})
	_, err := build.Run(context.Background(), build.Options{ContextDir: ctx2, Root: root, Pull: build.PullNever})
	if err == nil || !strings.Contains(err.Error(), "--pull=never") {
		t.Fatalf("missing base with --pull=never: %v", err)
	}
	checkNoMounts(t, root)
}

func TestBuildFileSemantics(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	ctx := writeContext(t, map[string]string{
		"Dockerfile": `FROM ` + base + `
RUN rm /bin/ls && rm -rf /tmp && mkdir /tmp && touch /tmp/new
COPY --chown=app:app --chmod=0640 secret.txt /home/app/
COPY --chown=1234:5678 dir/ /data/
COPY ignored.log keep.log /logs/
USER app
WORKDIR /home/app/work
RUN id -u > uid && touch made-by-app
`,
		"secret.txt":    "s",
		"dir/a/b.txt":   "b",
		"dir/c.txt":     "c",
		"keep.log":      "k",
		"ignored.log":   "should not be readable",
		".dockerignore": "ignored.log\n",
	})
	_, err := build.Run(context.Background(), build.Options{ContextDir: ctx, Root: root})
	if err == nil || !strings.Contains(err.Error(), "ignored.log") {
		t.Fatalf("COPY of a .dockerignored file: got %v, want an error naming it", err)
	}
	// Without the ignored source the build works.
	df, _ := os.ReadFile(filepath.Join(ctx, "Dockerfile"))
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(strings.Replace(string(df), "COPY ignored.log keep.log", "COPY keep.log", 1)), 0o644)
	res, _ := buildIn(t, build.Options{ContextDir: ctx, Root: root})
	fs := files(t, res.Image)
	checks := []struct {
		path     string
		mode     int64
		uid, gid int
	}{
		{"/home/app/secret.txt", 0o640, 1000, 1000},
		{"/data/a/b.txt", 0o644, 1234, 5678},
		{"/data/c.txt", 0o644, 1234, 5678},
		{"/logs/keep.log", 0o644, 0, 0},
		{"/home/app/work", 0o755, 1000, 1000},
		{"/home/app/work/made-by-app", 0o644, 1000, 1000},
	}
	for _, c := range checks {
		f, ok := fs[c.path]
		if !ok {
			t.Errorf("%s missing", c.path)
			continue
		}
		if f.mode != c.mode || f.uid != c.uid || f.gid != c.gid {
			t.Errorf("%s: mode %o uid %d gid %d, want %o %d %d", c.path, f.mode, f.uid, f.gid, c.mode, c.uid, c.gid)
		}
	}
	if _, ok := fs["/bin/ls"]; ok {
		t.Error("/bin/ls survived rm")
	}
	if _, ok := fs["/data/dir"]; ok {
		t.Error("COPY dir/ copied the directory itself, not its contents")
	}
	if got := fs["/home/app/work/uid"].data; got != "1000\n" {
		t.Errorf("USER app ran as %q", got)
	}
	// The RUN layer records the deletions as whiteouts and /tmp as opaque.
	entries := layerEntries(t, res.Image, 1)
	for _, want := range []string{"bin/.wh.ls", "tmp/.wh..wh..opq", "tmp/new"} {
		if !slices.Contains(entries, want) {
			t.Errorf("RUN layer lacks %s: %v", want, entries)
		}
	}
	for _, e := range entries {
		if strings.HasPrefix(e, "etc/hosts") || strings.HasPrefix(e, "etc/resolv.conf") || strings.HasPrefix(e, "proc/") || strings.HasPrefix(e, "dev/") {
			t.Errorf("runtime file %s leaked into the layer", e)
		}
	}
}

func TestBuildScratchAndHeredocs(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": `FROM ` + base + ` AS tools
RUN <<EOF
set -e
mkdir -p /out
echo one > /out/one
EOF
RUN <<-SCRIPT cat > /out/two
	two
	SCRIPT
FROM scratch
WORKDIR /app/sub
COPY --from=tools /out/ ./
COPY <<EOF /app/conf.ini
[x]
y=1
EOF
USER 4242:4343
`})
	res, _ := buildIn(t, build.Options{ContextDir: ctx, Root: root})
	fs := files(t, res.Image)
	for path, want := range map[string]string{"/app/sub/one": "one\n", "/app/sub/two": "two\n", "/app/conf.ini": "[x]\ny=1\n"} {
		if fs[path].data != want {
			t.Errorf("%s = %q, want %q", path, fs[path].data, want)
		}
	}
	if fs["/app/sub"].typ != tar.TypeDir {
		t.Error("WORKDIR was not created on scratch")
	}
	cfg, _ := res.Image.ConfigFile()
	if cfg.Config.User != "4242:4343" || cfg.Config.WorkingDir != "/app/sub" {
		t.Errorf("user %q workdir %q", cfg.Config.User, cfg.Config.WorkingDir)
	}
}

func TestBuildSecretsAndNetwork(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	secret := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secret, []byte("s3cr3t"), 0o600)
	t.Setenv("ZB_TEST_ENV_SECRET", "fromenv")
	ctx := writeContext(t, map[string]string{"Dockerfile": `FROM ` + base + `
RUN --mount=type=secret,id=tok test "$(cat /run/secrets/tok)" = s3cr3t && echo ok-file > /r1
RUN --mount=type=secret,id=e,env=MYSECRET test "$MYSECRET" = fromenv && echo ok-env > /r2
RUN --network=none sh -c 'ls /sys/class/net > /nets'
RUN --mount=type=secret,id=missing,required=false true
`})
	res, _ := buildIn(t, build.Options{ContextDir: ctx, Root: root, Secrets: []build.Secret{{ID: "tok", Src: secret}, {ID: "e", Env: "ZB_TEST_ENV_SECRET"}}})
	fs := files(t, res.Image)
	if fs["/r1"].data != "ok-file\n" || fs["/r2"].data != "ok-env\n" {
		t.Errorf("secret steps: %q %q", fs["/r1"].data, fs["/r2"].data)
	}
	if got := strings.Fields(fs["/nets"].data); !slices.Equal(got, []string{"lo"}) {
		t.Errorf("RUN --network=none saw interfaces %v", got)
	}
	for p := range fs {
		if strings.HasPrefix(p, "/run/secrets") {
			t.Errorf("secret mount point %s leaked into the image", p)
		}
	}
	// A required secret that is not given fails before running anything.
	ctx2 := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN --mount=type=secret,id=gone,required=true true\n"})
	if _, err := build.Run(context.Background(), build.Options{ContextDir: ctx2, Root: root}); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("missing required secret: %v", err)
	}
}

func TestBuildFailureCleansUp(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo before\nRUN echo some output; exit 3\n"})
	rec := &recorder{}
	_, err := build.Run(context.Background(), build.Options{ContextDir: ctx, Root: root, Progress: rec})
	if err == nil {
		t.Fatal("a failing RUN did not fail the build")
	}
	for _, want := range []string{"Dockerfile:3", "exit code 3", "exit 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !strings.Contains(rec.output(), "some output") {
		t.Errorf("output of the failing step was not streamed: %q", rec.output())
	}
	if len(rec.kinds(progress.StepFailed)) != 1 {
		t.Error("no step.failed event")
	}
	checkNoMounts(t, root)
	assertNoSnapshots(t, root)
}

func TestBuildCancel(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo started; sleep 100\n"})
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	var once bool
	rec := progress.SinkFunc(func(e progress.Event) {
		if e.Kind == progress.StepOutput && !once {
			once = true
			close(started)
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := build.Run(cctx, build.Options{ContextDir: ctx, Root: root, Progress: rec})
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("build ended before it was cancelled: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled build returned %v, want context.Canceled", err)
	}
	checkNoMounts(t, root)
	assertNoSnapshots(t, root)
}

// assertNoSnapshots checks that no snapshot directory is left in the worker.
func assertNoSnapshots(t *testing.T, root string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(root, "worker", "snapshots"))
	for _, e := range entries {
		t.Errorf("snapshot left behind: %s", e.Name())
	}
}

func TestBuildOutputs(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	out := t.TempDir()
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo x > /x\n"})
	res, _ := buildIn(t, build.Options{ContextDir: ctx, Root: root, Tags: []string{"out/test:1"},
		IIDFile: filepath.Join(out, "iid"), MetadataFile: filepath.Join(out, "meta.json"),
		Outputs: []build.Output{
			{Type: "oci", Dest: filepath.Join(out, "img.oci.tar")},
			{Type: "oci", Dest: filepath.Join(out, "layout") + "/", Attrs: map[string]string{}},
			{Type: "docker", Dest: filepath.Join(out, "img.docker.tar")},
			{Type: "tar", Dest: filepath.Join(out, "rootfs.tar")},
			{Type: "local", Dest: filepath.Join(out, "rootfs")},
		}})
	iid, _ := os.ReadFile(filepath.Join(out, "iid"))
	if string(iid) != res.ImageID {
		t.Errorf("iidfile %q, result %q", iid, res.ImageID)
	}
	meta, _ := os.ReadFile(filepath.Join(out, "meta.json"))
	if !strings.Contains(string(meta), `"containerimage.digest": "`+res.ImageID+`"`) || !strings.Contains(string(meta), "out/test:1") {
		t.Errorf("metadata file: %s", meta)
	}
	lp, err := layout.FromPath(filepath.Join(out, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("oci layout output invalid: %v", err)
	}
	dimg, err := tarball.ImageFromPath(filepath.Join(out, "img.docker.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(dimg); err != nil {
		t.Errorf("docker output invalid: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(out, "rootfs", "x")); err != nil || string(data) != "x\n" {
		t.Errorf("local output /x: %q %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(out, "rootfs", "bin", "busybox")); err != nil {
		t.Errorf("local output lacks the base: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(out, "rootfs.tar")); err != nil || fi.Size() == 0 {
		t.Errorf("tar output: %v", err)
	}
	// skopeo (containers/image) reads both archives, as podman/docker would.
	if skopeo, err := exec.LookPath("skopeo"); err == nil {
		for _, ref := range []string{"oci-archive:" + filepath.Join(out, "img.oci.tar"), "docker-archive:" + filepath.Join(out, "img.docker.tar")} {
			if b, err := exec.Command(skopeo, "inspect", ref).CombinedOutput(); err != nil {
				t.Errorf("skopeo inspect %s: %v\n%s", ref, err, b)
			}
		}
	}
	st, _ := store.Open(root)
	if _, _, err := st.Image(context.Background(), "out/test:1"); err != nil {
		t.Errorf("tagged image not in the store: %v", err)
	}
}

func TestBuildReproducible(t *testing.T) {
	requireBuild(t)
	epoch := time.Unix(1700000000, 0)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo x > /x && mkdir /d\nCOPY f /f\n", "f": "data"})
	var digests []string
	for i := 0; i < 2; i++ {
		os.Chtimes(filepath.Join(ctx, "f"), time.Now(), time.Now())
		res, _ := buildIn(t, build.Options{ContextDir: ctx, Root: newRoot(t), SourceDateEpoch: &epoch})
		digests = append(digests, res.ImageID)
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds with SOURCE_DATE_EPOCH differ: %v", digests)
	}
}

func TestBuildOnBuild(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	parent := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nONBUILD RUN echo triggered > /onbuild\n"})
	buildIn(t, build.Options{ContextDir: parent, Root: root, Tags: []string{"localhost/parent:1"}})
	child := writeContext(t, map[string]string{"Dockerfile": "FROM localhost/parent:1\nRUN cat /onbuild\n"})
	res, _ := buildIn(t, build.Options{ContextDir: child, Root: root})
	if got := files(t, res.Image)["/onbuild"].data; got != "triggered\n" {
		t.Errorf("ONBUILD trigger did not run: %q", got)
	}
	cfg, _ := res.Image.ConfigFile()
	if len(cfg.Config.OnBuild) != 0 {
		t.Errorf("triggers were inherited: %v", cfg.Config.OnBuild)
	}
}
