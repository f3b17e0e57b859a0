package build_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/testenv"
	"github.com/zbuild/zbuild/progress"
)

// Two runners share one cache through a registry (and through a local
// directory): the second, with an empty store, reuses every step and
// produces the same image digest.
func TestCacheSharedBetweenRunners(t *testing.T) {
	requireBuild(t)
	testenv.RequiresBinary(t, "docker-registry")
	reg := testenv.StartRegistry(t)
	baseRef := testenv.PushBusybox(t, reg)
	ctx := writeContext(t, map[string]string{
		"Dockerfile": "FROM " + baseRef + " AS build\nCOPY app.txt /src/\nRUN tr a-z A-Z < /src/app.txt > /out\n" +
			"FROM " + baseRef + "\nCOPY --from=build /out /out\nENV X=1\nCMD [\"cat\", \"/out\"]\n",
		"app.txt": "hello\n",
	})
	local := filepath.Join(t.TempDir(), "cache")
	for _, tc := range []struct {
		name     string
		to, from build.CacheSpec
	}{
		{"registry", build.CacheSpec{Type: "registry", Ref: reg.Ref("cache") + ":main", Mode: "max"}, build.CacheSpec{Type: "registry", Ref: reg.Ref("cache") + ":main"}},
		{"local", build.CacheSpec{Type: "local", Dir: local, Mode: "max"}, build.CacheSpec{Type: "local", Dir: local}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rootA, rootB := t.TempDir(), t.TempDir()
			first, _ := buildIn(t, build.Options{ContextDir: ctx, Root: rootA, CacheTo: []build.CacheSpec{tc.to}})
			second, rec := buildIn(t, build.Options{ContextDir: ctx, Root: rootB, CacheFrom: []build.CacheSpec{tc.from}})
			if n := len(rec.kinds(progress.StepStarted)); n != 2 { // ENV and CMD only: metadata steps always "run"
				for _, e := range rec.kinds(progress.StepStarted) {
					t.Logf("ran: %s (%s)", e.Text, e.Reason)
				}
				t.Errorf("runner B ran %d steps, want only the 2 metadata steps", n)
			}
			if len(rec.kinds(progress.StepCached)) != 3 {
				t.Errorf("runner B had %d cache hits, want 3", len(rec.kinds(progress.StepCached)))
			}
			if first.ImageID != second.ImageID {
				t.Errorf("image digests differ: %s vs %s", first.ImageID, second.ImageID)
			}
			var out strings.Builder
			if err := build.RunImage(context.Background(), build.RunOptions{Root: rootB, Image: second.ImageID, Stdout: &out, Stderr: &out}); err != nil || out.String() != "HELLO\n" {
				t.Errorf("image from the shared cache runs: %q %v", out.String(), err)
			}
			checkNoMounts(t, rootB)
		})
	}
}

// Cache mounts travel with the cache when asked (mounts=true): runner B's
// RUN finds what runner A's left in the mount.
func TestCacheMountsShared(t *testing.T) {
	requireBuild(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\n" +
		"RUN --mount=type=cache,id=deps,target=/deps (test -f /deps/fetched || (echo fetching; echo v1 > /deps/fetched)) && cp /deps/fetched /got\n"})
	dir := filepath.Join(t.TempDir(), "cache")
	rootA, rootB := newRoot(t), newRoot(t)
	buildIn(t, build.Options{ContextDir: ctx, Root: rootA, CacheTo: []build.CacheSpec{{Type: "local", Dir: dir, Mode: "max", Mounts: true}}})
	res, rec := buildIn(t, build.Options{ContextDir: ctx, Root: rootB, NoCache: true, CacheFrom: []build.CacheSpec{{Type: "local", Dir: dir}}})
	if strings.Contains(rec.output(), "fetching") {
		t.Error("runner B did not get the cache mount's content")
	}
	fs := files(t, res.Image)
	if fs["/got"].data != "v1\n" {
		t.Errorf("/got = %q", fs["/got"].data)
	}
}
