package conformance_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
	"github.com/zbuild/zbuild/test/conformance"
)

// nativeBase is the name of the busybox base in the native store.
const nativeBase = "localhost/busybox:latest"

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
	builders := []conformance.Builder{nativeBuilder(t)}
	if b := buildahBuilder(t); b != nil {
		builders = append(builders, b, backendBuilder(t, b))
	}
	tally := &conformance.Tally{}
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				outcomes := map[string]conformance.Outcome{}
				for _, b := range builders {
					outcomes[b.Name()] = buildOne(t, b, c)
				}
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
	t.Log("\n" + summary)
	fmt.Print(summary)
}

// buildOne builds c with b and snapshots the image; harness errors (not
// build failures) fail the test at once.
func buildOne(t *testing.T, b conformance.Builder, c conformance.Case) conformance.Outcome {
	t.Helper()
	img, err := b.Build(t.Context(), c)
	if err != nil {
		if !conformance.IsBuildError(err) {
			t.Fatalf("%s: %v", b.Name(), err)
		}
		return conformance.Outcome{Err: err}
	}
	snap, err := conformance.TakeSnapshot(img)
	if err != nil {
		t.Fatalf("%s: %v", b.Name(), err)
	}
	return conformance.Outcome{Snapshot: snap}
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

// buildahBuilder returns buildah's own Dockerfile builder over a registry
// serving busybox, or nil (logged) when buildah is not installed.
func buildahBuilder(t *testing.T) *conformance.Buildah {
	if _, err := os.Stat("/usr/bin/buildah"); err != nil {
		t.Log("buildah is not installed (apt-get install buildah): comparing the native engine with the pinned results only")
		return nil
	}
	reg := testenv.StartRegistry(t)
	dir := t.TempDir()
	b := &conformance.Buildah{
		Root:    filepath.Join(dir, "root"),
		RunRoot: filepath.Join(dir, "runroot"),
		Base:    testenv.PushBusybox(t, reg),
		WorkDir: filepath.Join(dir, "work"),
	}
	if err := os.MkdirAll(b.WorkDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Cleanup(context.Background()) })
	if err := b.Pull(t.Context()); err != nil {
		t.Fatal(err)
	}
	return b
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
