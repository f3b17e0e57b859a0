package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Plain renders events as BuildKit-style plain lines:
//
//	#3 [build 2/5] RUN make
//	#3 0.412 compiling…
//	#3 DONE 1.2s
//
// It is safe for concurrent use; lines from parallel stages interleave but
// each keeps its step number.
type Plain struct {
	mu sync.Mutex
	w  io.Writer
	// Timestamps prefixes output lines with the time since the step started.
	Timestamps bool
	started    map[int]Event
}

// NewPlain returns a plain renderer writing to w.
func NewPlain(w io.Writer) *Plain { return &Plain{w: w, started: map[int]Event{}} }

// Emit writes e.
func (p *Plain) Emit(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case StepStarted:
		p.started[e.ID] = e
		fmt.Fprintf(p.w, "#%d %s %s\n", e.ID, stepLabel(e), e.Text)
	case StepOutput:
		if p.Timestamps {
			if s, ok := p.started[e.ID]; ok {
				fmt.Fprintf(p.w, "#%d %.3f %s\n", e.ID, e.Time.Sub(s.Time).Seconds(), e.Line)
				return
			}
		}
		fmt.Fprintf(p.w, "#%d %s\n", e.ID, e.Line)
	case StepCached:
		fmt.Fprintf(p.w, "#%d %s %s\n#%d CACHED\n", e.ID, stepLabel(e), e.Text, e.ID)
	case StepDone:
		delete(p.started, e.ID)
		fmt.Fprintf(p.w, "#%d DONE %.1fs\n", e.ID, e.Duration.Seconds())
	case StepFailed:
		delete(p.started, e.ID)
		fmt.Fprintf(p.w, "#%d ERROR: %s\n", e.ID, e.Error)
	case Pull:
		if e.Line != "" {
			fmt.Fprintf(p.w, "#0 %s\n", e.Line)
		}
	case Warning:
		fmt.Fprintf(p.w, "WARNING: %s\n", e.Line)
	case Info:
		fmt.Fprintf(p.w, "%s\n", e.Line)
	case BuildDone:
		// A failure is reported once, by the caller, with its exit code.
		if e.Error == "" && e.Image != "" {
			fmt.Fprintf(p.w, "writing image %s done (%.1fs total)\n", e.Image, e.Duration.Seconds())
		}
	}
}

func stepLabel(e Event) string {
	name := e.StageName
	if name == "" {
		name = fmt.Sprintf("stage-%d", e.Stage)
	}
	if e.Steps > 0 {
		return fmt.Sprintf("[%s %d/%d]", name, e.Step, e.Steps)
	}
	return "[" + name + "]"
}

// JSON renders one JSON object per event and line.
type JSON struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSON returns a JSON-lines renderer writing to w.
func NewJSON(w io.Writer) *JSON { return &JSON{enc: json.NewEncoder(w)} }

// Emit writes e as one line of JSON.
func (j *JSON) Emit(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e.Line = strings.TrimRight(e.Line, "\n")
	_ = j.enc.Encode(e)
}
