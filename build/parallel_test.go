package build_test

import (
	"testing"

	"github.com/zbuild/zbuild/build"
)

// Independent stages run at the same time: each of these two stages waits
// (bounded) for a file the other one writes into a shared cache mount, so
// the build only succeeds when both run at once. No timing is asserted.
func TestBuildStagesRunInParallel(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	wait := func(mine, other string) string {
		return "RUN --mount=type=cache,id=rendezvous,target=/s,sharing=shared " +
			"touch /s/" + mine + " && i=0 && while [ ! -f /s/" + other + " ]; do " +
			"i=$((i+1)); [ $i -gt 600 ] && echo 'the other stage never ran' && exit 1; sleep 0.05; done && echo " + mine + " > /" + mine + "\n"
	}
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + " AS a\n" + wait("a", "b") +
		"FROM " + base + " AS b\n" + wait("b", "a") +
		"FROM scratch\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n"})
	res, _ := buildIn(t, build.Options{ContextDir: ctx, Root: root, Jobs: 2, NoCache: true})
	fs := files(t, res.Image)
	if fs["/a"].data != "a\n" || fs["/b"].data != "b\n" {
		t.Errorf("stage outputs: %q %q", fs["/a"].data, fs["/b"].data)
	}
}

// A cache mount keeps its content across builds, and never lands in a layer.
func TestCacheMountPersists(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\n" +
		"RUN --mount=type=cache,target=/var/cache/app n=$(cat /var/cache/app/n 2>/dev/null || echo 0); echo $((n+1)) > /var/cache/app/n; cp /var/cache/app/n /seen\n"})
	for want := 1; want <= 2; want++ {
		res, _ := buildIn(t, build.Options{ContextDir: ctx, Root: root, NoCache: true})
		fs := files(t, res.Image)
		if got := fs["/seen"].data; got != string(rune('0'+want))+"\n" {
			t.Errorf("build %d saw the cache mount at count %q", want, got)
		}
		if _, ok := fs["/var/cache/app/n"]; ok {
			t.Error("cache mount content leaked into the image")
		}
	}
}
