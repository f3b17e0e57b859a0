package progress

import (
	"time"

	"github.com/zbuild/zbuild/plan"
)

// t0 is the scripted build's start; fixed so golden files are stable.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// script is a build of two parallel stages and a final one: a pull, a
// cached step, output (with escapes and UTF-8), a warning, a layer-writing
// step, and a successful end.
func script() []Event {
	pos := func(line int) plan.Pos { return plan.Pos{File: "Dockerfile", Line: line} }
	return []Event{
		{Time: at(0), Kind: Warning, Line: "JSONArgsRecommended: JSON arguments recommended for CMD (Dockerfile:12)", Pos: pos(12)},
		{Time: at(1), Kind: BuildStarted, Stages: 3},
		{Time: at(2), Kind: Pull, Line: "pulling docker.io/library/busybox:latest"},
		{Time: at(5), Kind: Pull, Line: "pulling docker.io/library/busybox:latest", Current: 1 << 20, Total: 2 << 20},
		{Time: at(900), Kind: Pull, Line: "pulled docker.io/library/busybox:latest (sha256:0123abcd)"},
		{Time: at(1000), Kind: StepCached, ID: 1, Stage: 0, StageName: "deps", Step: 1, Steps: 2, Text: "COPY go.mod /src/", Pos: pos(2), Reason: "CACHED", Size: 512},
		{Time: at(1001), Kind: StepStarted, ID: 2, Stage: 0, StageName: "deps", Step: 2, Steps: 2, Text: "RUN make deps", Pos: pos(3), Reason: "no cache record"},
		{Time: at(1002), Kind: StepStarted, ID: 3, Stage: 1, StageName: "", Step: 1, Steps: 1, Text: "RUN <<EOF\necho héllo\nEOF", Pos: pos(6)},
		{Time: at(1400), Kind: StepOutput, ID: 2, Stage: 0, StageName: "deps", Step: 2, Steps: 2, Text: "RUN make deps", Line: "fetching \x1b[32mdeps\x1b[0m…", Stream: "stdout"},
		{Time: at(1500), Kind: StepOutput, ID: 3, Stage: 1, Step: 1, Steps: 1, Text: "RUN <<EOF\necho héllo\nEOF", Line: "héllo wörld 日本", Stream: "stdout"},
		{Time: at(2100), Kind: StepDone, ID: 3, Stage: 1, Step: 1, Steps: 1, Text: "RUN <<EOF\necho héllo\nEOF", Pos: pos(6), Duration: 1098 * time.Millisecond},
		{Time: at(3000), Kind: StepOutput, ID: 2, Stage: 0, StageName: "deps", Step: 2, Steps: 2, Text: "RUN make deps", Line: "done <ok> & ready", Stream: "stderr"},
		{Time: at(3201), Kind: StepDone, ID: 2, Stage: 0, StageName: "deps", Step: 2, Steps: 2, Text: "RUN make deps", Pos: pos(3), Duration: 2200 * time.Millisecond, Size: 3 << 20},
		{Time: at(3300), Kind: StepStarted, ID: 4, Stage: 2, StageName: "final", Step: 1, Steps: 1, Text: "ENV A=b", Pos: pos(10)},
		{Time: at(3301), Kind: StepDone, ID: 4, Stage: 2, StageName: "final", Step: 1, Steps: 1, Text: "ENV A=b", Pos: pos(10), Duration: time.Millisecond},
		{Time: at(3400), Kind: BuildDone, Image: "sha256:feedface", Duration: 3400 * time.Millisecond},
	}
}

// failScript is a build whose only RUN step fails after some output.
func failScript() []Event {
	pos := plan.Pos{File: "Dockerfile", Line: 2}
	step := Event{ID: 1, Stage: 0, Step: 1, Steps: 1, Text: "RUN false", Pos: pos}
	with := func(ms int, k Kind, f func(*Event)) Event {
		e := step
		e.Time, e.Kind = at(ms), k
		if f != nil {
			f(&e)
		}
		return e
	}
	return []Event{
		{Time: at(0), Kind: BuildStarted, Stages: 1},
		with(10, StepStarted, nil),
		with(20, StepOutput, func(e *Event) { e.Line, e.Stream = "about to fail", "stderr" }),
		with(30, StepFailed, func(e *Event) { e.Error = "process exited with status 1" }),
		{Time: at(40), Kind: BuildDone, Error: "Dockerfile:2: RUN false: process exited with status 1", Duration: 40 * time.Millisecond},
	}
}

// summary is the scripted build's result.
var summary = &Summary{Image: "sha256:feedface", Tags: []string{"localhost/app:dev"}, Size: 5<<20 + 300, Layers: 3, NewLayers: 1, Steps: 3, Cached: 1, Duration: 3400 * time.Millisecond}
