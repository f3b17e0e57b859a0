package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
	"github.com/zbuild/zbuild/test/conformance"
)

// nativeBase is the name of the busybox base in the native store.
const nativeBase = "localhost/busybox:latest"

// implementations are the names expect.json's "known" may use.
var implementations = map[string]bool{"native": true, "buildah": true, "buildah-backend": true, "docker": true}

func TestCorpusLoads(t *testing.T) {
	cases, err := conformance.LoadCases("cases")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Errorf("the corpus has %d cases, want at least 40", len(cases))
	}
	for _, c := range cases {
		df, err := os.ReadFile(filepath.Join(c.Dir, "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		// Every case must build from the BASE build-arg, so each
		// implementation can point it at a base it can reach.
		if !strings.Contains(string(df), "ARG BASE") {
			t.Errorf("%s: the Dockerfile does not declare ARG BASE", c.Name)
		}
		for id, file := range c.Secrets {
			if _, err := os.Stat(filepath.Join(c.Dir, file)); err != nil {
				t.Errorf("%s: secret %s: %v", c.Name, id, err)
			}
		}
		for name, k := range c.Known {
			if !implementations[name] {
				t.Errorf("%s: known difference of unknown implementation %q", c.Name, name)
			}
			if k.Reason == "" {
				t.Errorf("%s: known difference of %s has no reason", c.Name, name)
			}
		}
	}
}

// TestConformance builds every case with every implementation this host
// can run and compares the results. It is slow (buildah takes seconds per
// step), so -short skips it.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance builds skipped in -short mode")
	}
	testenv.RequiresRoot(t)
	testenv.RequiresBinary(t, "runc")
	cases, err := conformance.LoadCases("cases")
	if err != nil {
		t.Fatal(err)
	}
	if only := os.Getenv("CONFORMANCE_CASES"); only != "" {
		cases = filterCases(cases, strings.Split(only, ","))
	}
	// Lanes run at the same time; the builders of one lane run in turn.
	// buildah and the buildah backend share one containers-storage, where
	// a concurrent rmi can drop a layer the other is committing.
	lanes := [][]conformance.Builder{{nativeBuilder(t)}}
	var notRun []string
	base := &registryBase{}
	if b, why := buildahBuilder(t, base); b != nil {
		lanes = append(lanes, []conformance.Builder{b, backendBuilder(t, b)})
	} else {
		notRun = append(notRun, "buildah, buildah-backend: not run: "+why)
	}
	if d, why := dockerBuilder(t, base); d != nil {
		lanes = append(lanes, []conformance.Builder{d})
	} else {
		notRun = append(notRun, "docker: not run: "+why)
	}
	for _, line := range notRun {
		t.Log(line)
	}
	tally := &conformance.Tally{}
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				outcomes := buildAll(t, lanes, c)
				for _, v := range conformance.Judge(c, outcomes) {
					tally.Add(v)
					if !v.Pass {
						t.Errorf("%s:\n    %s", v.Builder, strings.Join(v.Problems, "\n    "))
					}
				}
			})
		}
	})
	summary := tally.Summary()
	if len(notRun) > 0 {
		summary += strings.Join(notRun, "\n") + "\n"
	}
	t.Log("\n" + summary)
	fmt.Print(summary)
}

// buildAll builds c with every builder, the lanes at once (builds mostly
// wait on container starts, so they overlap well), and snapshots the
// images; harness errors (not build failures) fail the test.
func buildAll(t *testing.T, lanes [][]conformance.Builder, c conformance.Case) map[string]conformance.Outcome {
	t.Helper()
	var (
		mu       sync.Mutex
		outcomes = map[string]conformance.Outcome{}
		errs     []error
		wg       sync.WaitGroup
	)
	for _, lane := range lanes {
		wg.Go(func() {
			for _, b := range lane {
				o, err := buildOne(t.Context(), b, c)
				mu.Lock()
				outcomes[b.Name()] = o
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return outcomes
}

// buildOne builds c with b and snapshots the image. A failed build is an
// outcome; anything else is an error of the harness.
func buildOne(ctx context.Context, b conformance.Builder, c conformance.Case) (conformance.Outcome, error) {
	img, err := b.Build(ctx, c)
	if err != nil {
		if !conformance.IsBuildError(err) {
			return conformance.Outcome{}, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return conformance.Outcome{Err: err}, nil
	}
	snap, err := conformance.TakeSnapshot(img)
	if err != nil {
		return conformance.Outcome{}, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return conformance.Outcome{Snapshot: snap}, nil
}

func nativeBuilder(t *testing.T) conformance.Builder {
	root := t.TempDir()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutImage(context.Background(), testenv.BusyboxImage(t), nativeBase); err != nil {
		t.Fatal(err)
	}
	return &conformance.Zbuild{Root: root, Base: nativeBase, Backend: build.BackendNative}
}

// backendBuilder is zbuild's buildah backend over the same buildah storage
// as b, configured through the files buildah reads from the environment.
func backendBuilder(t *testing.T, b *conformance.Buildah) conformance.Builder {
	dir := t.TempDir()
	storage := filepath.Join(dir, "storage.conf")
	writeFile(t, storage, fmt.Sprintf("[storage]\ndriver = \"overlay\"\ngraphroot = %q\nrunroot = %q\n", b.Root, b.RunRoot))
	// runc, and a file limit under this host's hard limit (crun 1.8 and
	// buildah's default 1048576 both fail here).
	conf := filepath.Join(dir, "containers.conf")
	writeFile(t, conf, "[containers]\ndefault_ulimits = [\"nofile=1024:1024\"]\n[engine]\nruntime = \"runc\"\n")
	t.Setenv("CONTAINERS_STORAGE_CONF", storage)
	t.Setenv("CONTAINERS_CONF", conf)
	t.Setenv("BUILDAH_ISOLATION", "oci")
	return &conformance.Zbuild{Root: t.TempDir(), Base: b.Base, Backend: build.BackendBuildah}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// registryBase serves busybox from a registry on 127.0.0.1, started the
// first time an implementation that pulls from a registry needs it.
type registryBase struct{ ref string }

func (r *registryBase) get(t *testing.T) string {
	if r.ref == "" {
		r.ref = testenv.PushBusybox(t, testenv.StartRegistry(t))
	}
	return r.ref
}

// buildahBuilder returns buildah's own Dockerfile builder over a registry
// serving busybox, or nil and why when buildah is not installed.
func buildahBuilder(t *testing.T, base *registryBase) (*conformance.Buildah, string) {
	if _, err := os.Stat("/usr/bin/buildah"); err != nil {
		return nil, "buildah is not installed (apt-get install buildah)"
	}
	dir := t.TempDir()
	b := &conformance.Buildah{
		Root:    filepath.Join(dir, "root"),
		RunRoot: filepath.Join(dir, "runroot"),
		Base:    base.get(t),
		WorkDir: filepath.Join(dir, "work"),
	}
	if err := os.MkdirAll(b.WorkDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Cleanup(context.Background()) })
	if err := b.Pull(t.Context()); err != nil {
		t.Fatal(err)
	}
	return b, ""
}

// Debian's docker.io: the daemon, and its 20.10 client, which builds with
// BuildKit without buildx (a newer client in PATH may not).
const (
	dockerdPath      = "/usr/sbin/dockerd"
	dockerClientPath = "/usr/bin/docker"
)

// dockerBuilder starts one private dockerd for the whole run and returns
// docker build against it, or nil and why when Docker is not installed.
func dockerBuilder(t *testing.T, base *registryBase) (*conformance.Docker, string) {
	for _, p := range []string{dockerdPath, dockerClientPath} {
		if _, err := os.Stat(p); err != nil {
			return nil, p + " is missing (apt-get install docker.io)"
		}
	}
	// A short parent: the daemon's socket paths must stay under ~100 bytes,
	// and t.TempDir's paths carry the long test name.
	d, err := conformance.StartDockerd(t.Context(), dockerdPath, "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Error(err)
		}
	})
	return &conformance.Docker{Client: dockerClientPath, Host: d.Host(), Base: base.get(t), WorkDir: t.TempDir()}, ""
}

func filterCases(cases []conformance.Case, names []string) []conformance.Case {
	var out []conformance.Case
	for _, c := range cases {
		for _, n := range names {
			if c.Name == n {
				out = append(out, c)
			}
		}
	}
	return out
}
