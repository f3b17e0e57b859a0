package build_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/progress"
)

// Plan resolves a Dockerfile into the build plan without building anything:
// each step keeps its Dockerfile text and position for messages, and
// carries the resolved operation (here, the label with the build argument
// substituted).
func ExamplePlan() {
	dir, err := os.MkdirTemp("", "zbuild-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	dockerfile := `FROM scratch AS assets
COPY site/ /www/

FROM scratch
ARG VERSION=dev
COPY --from=assets /www /srv/www
LABEL version=$VERSION
CMD ["/srv/server"]
`
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	res, err := build.Plan(context.Background(), build.Options{
		ContextDir: dir,
		BuildArgs:  map[string]string{"VERSION": "1.2.0"},
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range res.Graph.Stages {
		fmt.Printf("stage %d %q\n", st.Index, st.Name)
		for _, step := range st.Steps {
			fmt.Printf("  %s:%d %s\n", step.Pos.File, step.Pos.Line, step.Text)
			if step.Config != nil && len(step.Config.Labels) > 0 {
				l := step.Config.Labels[0]
				fmt.Printf("    label %s=%s\n", l.Key, l.Value)
			}
		}
	}
	// Output:
	// stage 0 "assets"
	//   Dockerfile:2 COPY site/ /www/
	// stage 1 ""
	//   Dockerfile:5 ARG VERSION=dev
	//   Dockerfile:6 COPY --from=assets /www /srv/www
	//   Dockerfile:7 LABEL version=$VERSION
	//     label version=1.2.0
	//   Dockerfile:8 CMD ["/srv/server"]
}

// Run builds an image into the local store and streams its events to a
// callback, here a renderer of BuildKit-style plain lines. The callback is
// called from the engine's workers: it must be quick and safe for
// concurrent use (wrap a slow one with progress.NewBuffered).
//
// This example is compiled but not run by go test (it has no Output
// comment): building needs root, overlayfs and an OCI runtime (crun or
// runc), and a base image in the store.
func ExampleRun() {
	plain := progress.NewPlain(os.Stderr)
	res, err := build.Run(context.Background(), build.Options{
		ContextDir: ".",
		Tags:       []string{"localhost/app:dev"},
		Progress:   plain,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "build failed:", err)
		return
	}
	fmt.Println(res.ImageID, res.Tags)
}

// A progress.SinkFunc receives every event as typed data: here the
// finished steps are counted and failed ones reported with their
// Dockerfile position. Compiled, not run, for the reasons given on
// ExampleRun.
func ExampleRun_events() {
	var done, cached int
	events := progress.SinkFunc(func(e progress.Event) {
		switch e.Kind {
		case progress.StepDone:
			done++
		case progress.StepCached:
			cached++
		case progress.StepFailed:
			fmt.Printf("%s:%d: %s failed: %s\n", e.Pos.File, e.Pos.Line, e.Text, e.Error)
		}
	})
	// The engine calls Emit from several goroutines at once: Buffered
	// serialises the calls, so the counters need no lock, and keeps a slow
	// consumer from holding the build up.
	buffered := progress.NewBuffered(events)
	_, err := build.Run(context.Background(), build.Options{ContextDir: ".", Progress: buffered})
	buffered.Close()
	fmt.Printf("%d steps run, %d cached, error: %v\n", done, cached, err)
}
