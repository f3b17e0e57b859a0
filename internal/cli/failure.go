package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/frontend/dockerfile"
	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// excerptContext is how many Dockerfile lines the failure report shows
// before and after the failing instruction.
const excerptContext = 3

// writeFailure writes what a person needs to fix a failed step, as BuildKit
// does: the step's full output (the live view showed only its last lines)
// and the Dockerfile lines around it, the failing ones marked. Errors that
// are not a step's (bad flags, a Dockerfile that does not parse) have their
// own message and get no report, as does a cancelled build (Ctrl+C), whose
// step did not fail by itself. The error itself is printed by Execute.
func writeFailure(w io.Writer, opts build.Options, rec *progress.Recorder, err error) {
	var se *build.StepError
	if !errors.As(err, &se) || errors.Is(err, context.Canceled) {
		return
	}
	var b strings.Builder
	if log, ok := failedLog(rec, se); ok {
		fmt.Fprintf(&b, "------\n > %s %s:\n", log.Event.Label(), log.Event.Title())
		if log.Dropped > 0 {
			fmt.Fprintf(&b, "[%d earlier lines of output not kept]\n", log.Dropped)
		}
		for _, l := range log.Output {
			b.WriteString(l + "\n")
		}
		b.WriteString("------\n")
	}
	if !se.Step.OnBuild {
		if src, ok := readDockerfile(opts, se.Step.Pos.File); ok {
			b.WriteString(excerpt(src, se.Step.Pos))
		}
	}
	if b.Len() > 0 {
		io.WriteString(w, b.String())
	}
}

// failedLog finds the recorded output of the step se names.
func failedLog(rec *progress.Recorder, se *build.StepError) (progress.StepLog, bool) {
	for _, l := range rec.Failed() {
		if l.Event.Stage == se.Stage && l.Event.Pos.Line == se.Step.Pos.Line && l.Event.Text == se.Step.Text {
			return l, true
		}
	}
	return progress.StepLog{}, false
}

// readDockerfile reads the Dockerfile of opts again, if it is the file a
// position names (an instruction may come from elsewhere, as ONBUILD ones
// do from the base image).
func readDockerfile(opts build.Options, name string) ([]byte, bool) {
	if opts.Dockerfile == "-" {
		return opts.DockerfileContent, name == "Dockerfile" || name == "-"
	}
	path, err := dockerfile.Locate(opts.ContextDir, opts.Dockerfile)
	if err != nil || filepath.Base(path) != name {
		return nil, false
	}
	src, err := os.ReadFile(path)
	return src, err == nil
}

// excerpt renders the lines around pos, BuildKit-style:
//
//	Dockerfile:3
//	--------------------
//	   2 |     WORKDIR /src
//	   3 | >>> RUN make
//	   4 |     CMD ["app"]
//	--------------------
func excerpt(src []byte, pos plan.Pos) string {
	lines := strings.Split(strings.TrimRight(string(bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))), "\n"), "\n")
	if pos.Line < 1 || pos.Line > len(lines) {
		return ""
	}
	end := max(pos.EndLine, pos.Line)
	end = min(end, len(lines))
	from, to := max(pos.Line-excerptContext, 1), min(end+excerptContext, len(lines))
	var b strings.Builder
	if end > pos.Line {
		fmt.Fprintf(&b, "%s:%d-%d\n", pos.File, pos.Line, end)
	} else {
		fmt.Fprintf(&b, "%s:%d\n", pos.File, pos.Line)
	}
	b.WriteString("--------------------\n")
	for n := from; n <= to; n++ {
		mark := "   "
		if n >= pos.Line && n <= end {
			mark = ">>>"
		}
		fmt.Fprintf(&b, " %3d | %s %s\n", n, mark, lines[n-1])
	}
	b.WriteString("--------------------\n")
	return b.String()
}
