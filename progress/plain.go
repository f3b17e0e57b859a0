package progress

import (
	"fmt"
	"io"
	"sync"
)

// Plain renders events as BuildKit-style plain lines, for CI logs and
// anything that is not a terminal:
//
//	#3 [build 2/5] RUN make
//	#3 0.412 compiling…
//	#3 DONE 1.2s 4.0 MiB
//	#4 [build 3/5] COPY . /src
//	#4 CACHED
//
// It is safe for concurrent use: lines of parallel stages interleave, and
// each keeps its step number.
type Plain struct {
	mu sync.Mutex
	w  io.Writer
	// Timestamps prefixes output lines with the seconds since their step
	// started, as BuildKit does.
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
		fmt.Fprintf(p.w, "#%d %s %s\n", e.ID, e.Label(), e.Title())
		if e.Reason != "" {
			// Why the step runs instead of coming from the cache.
			fmt.Fprintf(p.w, "#%d not cached: %s\n", e.ID, e.Reason)
		}
	case StepOutput:
		if s, ok := p.started[e.ID]; ok && p.Timestamps {
			fmt.Fprintf(p.w, "#%d %.3f %s\n", e.ID, e.Time.Sub(s.Time).Seconds(), e.Line)
			return
		}
		fmt.Fprintf(p.w, "#%d %s\n", e.ID, e.Line)
	case StepCached:
		fmt.Fprintf(p.w, "#%d %s %s\n#%d CACHED\n", e.ID, e.Label(), e.Title(), e.ID)
	case StepDone:
		delete(p.started, e.ID)
		if e.Size > 0 {
			fmt.Fprintf(p.w, "#%d DONE %s %s\n", e.ID, FormatDuration(e.Duration), HumanSize(e.Size))
			return
		}
		fmt.Fprintf(p.w, "#%d DONE %s\n", e.ID, FormatDuration(e.Duration))
	case StepFailed:
		if _, ok := p.started[e.ID]; !ok {
			// A step can fail before it starts (its inputs could not be read).
			fmt.Fprintf(p.w, "#%d %s %s\n", e.ID, e.Label(), e.Title())
		}
		delete(p.started, e.ID)
		fmt.Fprintf(p.w, "#%d ERROR: %s\n", e.ID, e.Error)
	case Pull, Push:
		switch {
		case e.Total > 0:
			// Plain logs get the finished transfer, not every update.
			if e.Current >= e.Total {
				fmt.Fprintf(p.w, "#0 %s %s / %s\n", e.Line, HumanSize(e.Current), HumanSize(e.Total))
			}
		case e.Line != "":
			fmt.Fprintf(p.w, "#0 %s\n", e.Line)
		}
	case Warning:
		fmt.Fprintf(p.w, "WARNING: %s\n", e.Line)
	case Info:
		fmt.Fprintf(p.w, "%s\n", e.Line)
	case BuildDone:
		// A failure is reported once, by the caller, with its exit code.
		if e.Error == "" && e.Image != "" {
			fmt.Fprintf(p.w, "writing image %s done (%s total)\n", e.Image, FormatDuration(e.Duration))
		}
	}
}

// Close writes the summary of a successful build.
func (p *Plain) Close(sum *Summary) error {
	if sum == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range sum.Lines() {
		if _, err := fmt.Fprintf(p.w, "%s\n", l); err != nil {
			return fmt.Errorf("writing the build summary: %w", err)
		}
	}
	return nil
}
