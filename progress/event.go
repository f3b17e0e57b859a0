package progress

import (
	"fmt"
	"strings"
	"time"

	"github.com/zbuild/zbuild/plan"
)

// Kind is the type of an event.
type Kind string

// Event kinds. A step goes started → (output…) → done | cached | failed.
const (
	BuildStarted Kind = "build.started"
	BuildDone    Kind = "build.done"
	StageStarted Kind = "stage.started"
	StageDone    Kind = "stage.done"
	StepStarted  Kind = "step.started"
	StepOutput   Kind = "step.output"
	StepCached   Kind = "step.cached"
	StepDone     Kind = "step.done"
	StepFailed   Kind = "step.failed"
	Pull         Kind = "pull"
	Push         Kind = "push"
	Warning      Kind = "warning"
	Info         Kind = "info"
)

// Event is one thing that happened during a build. Fields that do not apply
// to Kind are zero. It is plain data: the JSON renderer writes it as is.
type Event struct {
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// ID numbers steps across the build (#1, #2…), as BuildKit's plain output does.
	ID int `json:"id,omitempty"`
	// Stage is the stage index, StageName its name ("" when unnamed) and
	// Stages the number of stages the build runs.
	Stage     int    `json:"stage"`
	StageName string `json:"stageName,omitempty"`
	Stages    int    `json:"stages,omitempty"`
	// Step is the 1-based step index in its stage, Steps their count.
	Step  int `json:"step,omitempty"`
	Steps int `json:"steps,omitempty"`
	// Text is the instruction as written ("RUN make"), Pos its place.
	Text string   `json:"text,omitempty"`
	Pos  plan.Pos `json:"pos,omitzero"`
	// Line is one line of output (StepOutput) or a message.
	Line   string `json:"line,omitempty"`
	Stream string `json:"stream,omitempty"`
	// Reason says why a step ran or was cached.
	Reason   string        `json:"reason,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	// Size is the size in bytes of the layer a step wrote.
	Size int64 `json:"size,omitempty"`
	// Current and Total are byte counts of a transfer (Pull, Push).
	Current int64  `json:"current,omitempty"`
	Total   int64  `json:"total,omitempty"`
	Error   string `json:"error,omitempty"`
	// Image is the resulting image ID (BuildDone).
	Image string `json:"image,omitempty"`
}

// Label is the step's place as BuildKit prints it: "[build 2/5]", or
// "[stage-1 2/5]" for an unnamed stage.
func (e Event) Label() string {
	name := e.StageName
	if name == "" {
		name = fmt.Sprintf("stage-%d", e.Stage)
	}
	if e.Steps > 0 {
		return fmt.Sprintf("[%s %d/%d]", name, e.Step, e.Steps)
	}
	return "[" + name + "]"
}

// Title is the first line of the step's text, with "…" when more follow: a
// heredoc's body is left to the step's output and the Dockerfile itself.
func (e Event) Title() string {
	if i := strings.IndexByte(e.Text, '\n'); i >= 0 {
		return e.Text[:i] + " …"
	}
	return e.Text
}

// Sink receives events. Emit must not block for long: the engine calls it
// from its workers.
type Sink interface {
	Emit(Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Event)

// Emit calls f(e).
func (f SinkFunc) Emit(e Event) { f(e) }

// Discard is a Sink that drops every event; the library default.
var Discard Sink = SinkFunc(func(Event) {})
