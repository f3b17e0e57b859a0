package build_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
	"github.com/zbuild/zbuild/progress"
)

// stepOutcome is "CACHED" or the reason the step ran, per instruction text.
func stepOutcome(rec *recorder) map[string]string {
	out := map[string]string{}
	for _, e := range rec.kinds(progress.StepCached) {
		out[e.Text] = "CACHED"
	}
	for _, e := range rec.kinds(progress.StepStarted) {
		if e.Reason != "" {
			out[e.Text] = e.Reason
		}
	}
	return out
}

func TestCacheCorrectness(t *testing.T) {
	requireBuild(t)
	type change func(t *testing.T, ctx string) (args map[string]string)
	write := func(name, data string) change {
		return func(t *testing.T, ctx string) map[string]string {
			p := filepath.Join(ctx, name)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			// Same size and mtime: only the content (and ctime) differ.
			if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
			return nil
		}
	}
	const df = "FROM " + base + "\nARG USED=1\nCOPY app.txt /app.txt\nRUN echo $USED > /used\nARG LATER\nRUN echo later=$LATER > /later\n"
	tests := []struct {
		name   string
		df     string
		change change
		// want maps an instruction to CACHED or a substring of the miss reason.
		want map[string]string
	}{
		{
			name:   "content changed, same size and mtime",
			change: write("app.txt", "HELLO\n"),
			want:   map[string]string{"COPY app.txt /app.txt": "context file app.txt changed", "RUN echo $USED > /used": "a previous step changed"},
		},
		{
			name: "mode changed only",
			change: func(t *testing.T, ctx string) map[string]string {
				os.Chmod(filepath.Join(ctx, "app.txt"), 0o755)
				return nil
			},
			want: map[string]string{"COPY app.txt /app.txt": "context file app.txt changed"},
		},
		{
			name: "touched without change",
			change: func(t *testing.T, ctx string) map[string]string {
				later := time.Now().Add(time.Hour)
				os.Chtimes(filepath.Join(ctx, "app.txt"), later, later)
				return nil
			},
			want: map[string]string{"COPY app.txt /app.txt": "CACHED", "RUN echo later=$LATER > /later": "CACHED"},
		},
		{
			name:   "build arg no step uses",
			change: func(*testing.T, string) map[string]string { return map[string]string{"UNDECLARED": "2"} },
			want:   map[string]string{"RUN echo $USED > /used": "CACHED", "RUN echo later=$LATER > /later": "CACHED"},
		},
		{
			name:   "build arg declared after the step",
			change: func(*testing.T, string) map[string]string { return map[string]string{"LATER": "x"} },
			want:   map[string]string{"RUN echo $USED > /used": "CACHED", "RUN echo later=$LATER > /later": `ARG LATER added ("x")`},
		},
		{
			name:   "build arg the step uses",
			change: func(*testing.T, string) map[string]string { return map[string]string{"USED": "2"} },
			want:   map[string]string{"COPY app.txt /app.txt": "CACHED", "RUN echo $USED > /used": `ARG USED changed from "1" to "2"`},
		},
		{
			name:   "dockerignored file changed",
			change: write("ignored.txt", "changed!\n"),
			df:     "FROM " + base + "\nCOPY . /ctx/\n",
			want:   map[string]string{"COPY . /ctx/": "CACHED"},
		},
		{
			name:   "file rewritten with the same content",
			change: write("app.txt", "hello\n"),
			df:     "FROM " + base + "\nCOPY . /ctx/\n",
			want:   map[string]string{"COPY . /ctx/": "CACHED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := newRoot(t)
			d := tt.df
			if d == "" {
				d = df
			}
			ctx := writeContext(t, map[string]string{"Dockerfile": d, "app.txt": "hello\n", "ignored.txt": "x\n", ".dockerignore": "ignored.txt\n"})
			first, _ := buildIn(t, build.Options{ContextDir: ctx, Root: root})
			args := tt.change(t, ctx)
			second, rec := buildIn(t, build.Options{ContextDir: ctx, Root: root, BuildArgs: args})
			got := stepOutcome(rec)
			for text, want := range tt.want {
				if !strings.Contains(got[text], want) {
					t.Errorf("%s: got %q, want %q", text, got[text], want)
				}
			}
			allCached := true
			for _, v := range got {
				allCached = allCached && v == "CACHED"
			}
			if allCached && first.ImageID != second.ImageID {
				t.Errorf("a fully cached rebuild changed the image digest: %s → %s", first.ImageID, second.ImageID)
			}
		})
	}
}

func TestCacheHeredocAndNoCache(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	mk := func(body string) string {
		return writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nCOPY <<EOF /conf\n" + body + "\nEOF\nRUN cat /conf > /copy\n"})
	}
	buildIn(t, build.Options{ContextDir: mk("a=1"), Root: root})
	_, rec := buildIn(t, build.Options{ContextDir: mk("a=2"), Root: root})
	if got := stepOutcome(rec)["COPY <<EOF /conf"]; got == "CACHED" || got == "" {
		t.Errorf("a changed heredoc body was a cache hit (%q)", got)
	}
	ctx := mk("a=2")
	_, rec = buildIn(t, build.Options{ContextDir: ctx, Root: root})
	if got := stepOutcome(rec)["RUN cat /conf > /copy"]; got != "CACHED" {
		t.Errorf("unchanged rebuild: %q", got)
	}
	_, rec = buildIn(t, build.Options{ContextDir: ctx, Root: root, NoCache: true})
	if got := stepOutcome(rec)["RUN cat /conf > /copy"]; got != "--no-cache" {
		t.Errorf("--no-cache: %q", got)
	}
}

// A base tag that moves to a new digest invalidates every step on it.
func TestCacheBaseDigestMoved(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM localhost/moving:1\nRUN echo x > /x\n"})
	bb := testenv.BusyboxImage(t)
	if _, err := st.PutImage(context.Background(), bb, "localhost/moving:1"); err != nil {
		t.Fatal(err)
	}
	buildIn(t, build.Options{ContextDir: ctx, Root: root})
	cfg, _ := bb.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.Config.Labels = map[string]string{"moved": "yes"}
	moved, err := mutate.ConfigFile(bb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutImage(context.Background(), moved, "localhost/moving:1"); err != nil {
		t.Fatal(err)
	}
	_, rec := buildIn(t, build.Options{ContextDir: ctx, Root: root})
	if got := stepOutcome(rec)["RUN echo x > /x"]; !strings.Contains(got, "base image digest changed") {
		t.Errorf("after the base moved: %q", got)
	}
}

// Concurrent builds sharing one store and cache both succeed with the same
// result.
func TestCacheConcurrentBuilds(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	ctx := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nCOPY f /f\nRUN cat /f > /g\nRUN --mount=type=cache,target=/c,sharing=locked echo >> /c/n\n", "f": "data\n"})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			if _, err := build.Run(context.Background(), build.Options{ContextDir: ctx, Root: root}); err != nil {
				t.Errorf("concurrent build %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	_, rec := buildIn(t, build.Options{ContextDir: ctx, Root: root})
	got := stepOutcome(rec)
	if len(got) != 3 {
		t.Errorf("expected 3 cacheable steps, saw %v", got)
	}
	for text, o := range got {
		if o != "CACHED" {
			t.Errorf("after concurrent builds, %s: %q", text, o)
		}
	}
}
