package cli

import (
	"context"
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/progress"
)

// timestampsEnv turns on elapsed-time prefixes in --progress=plain output
// lines ("#3 0.412 compiling"), as BuildKit prints them; so does the
// --progress-timestamps flag.
const timestampsEnv = "ZBUILD_PROGRESS_TIMESTAMPS"

// runBuild runs one build with the renderer --progress and -q pick. On
// failure it writes the failure report (the failing step's output and the
// Dockerfile lines around it) after the renderer has stopped, and returns
// the build's error for the exit code.
func runBuild(ctx context.Context, opts build.Options, mode string, quiet, timestamps bool, stderr io.Writer) (*build.Result, error) {
	getenv := os.Getenv
	if timestamps {
		getenv = func(k string) string {
			if k == timestampsEnv {
				return "1"
			}
			return os.Getenv(k)
		}
	}
	r := newRenderer(mode, quiet, stderr, getenv)
	rec := progress.NewRecorder()
	opts.Progress = progress.Tee(rec, r)
	res, err := build.Run(ctx, opts)
	if err != nil {
		if cerr := r.Close(nil); cerr != nil {
			slog.Warn("closing the progress view", "err", cerr)
		}
		writeFailure(stderr, opts, rec, err)
		return nil, err
	}
	sum := summarize(res, rec)
	if err := r.Close(&sum); err != nil {
		return nil, err
	}
	return res, nil
}

// newRenderer picks the renderer for --progress (and -q, which wins): auto
// is the live view on a terminal and plain lines elsewhere; tty falls back
// to plain lines too when stderr is not a terminal, so scripts that force
// it still get a log.
func newRenderer(mode string, quiet bool, w io.Writer, getenv func(string) string) progress.Renderer {
	if quiet {
		mode = "quiet"
	}
	switch mode {
	case "quiet":
		return discard{}
	case "json", "rawjson":
		return progress.Async(progress.NewJSON(w))
	case "auto", "tty":
		if isTerminal(w) && getenv("TERM") != "dumb" {
			return progress.NewTTY(w)
		}
	}
	p := progress.NewPlain(w)
	p.Timestamps = getenv(timestampsEnv) != ""
	return progress.Async(p)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// discard is the renderer of --quiet: nothing but the image ID, which the
// build command prints itself.
type discard struct{}

func (discard) Emit(progress.Event)           {}
func (discard) Close(*progress.Summary) error { return nil }

// summarize is the end-of-build summary: the library's result, the image's
// size from its manifest, and the cache hits the events counted.
func summarize(res *build.Result, rec *progress.Recorder) progress.Summary {
	_, cached := rec.Counts()
	sum := progress.Summary{Image: res.ImageID, Tags: res.Tags, NewLayers: res.Layers, Steps: res.Steps, Cached: cached, Duration: res.Duration}
	if res.Image == nil {
		return sum
	}
	m, err := res.Image.Manifest()
	if err != nil {
		// The image is stored; only its size is missing from the summary.
		slog.Warn("reading the built image's manifest", "err", err)
		return sum
	}
	sum.Size = m.Config.Size
	for _, l := range m.Layers {
		sum.Size += l.Size
	}
	sum.Layers = len(m.Layers)
	return sum
}
