package progress

import "sync"

// maxRecorded bounds the output kept per running step, so a step that
// prints gigabytes cannot exhaust memory; the first lines are dropped.
const maxRecorded = 8 << 20

// Recorder is a Sink that keeps what a failure report needs: the full
// output of every failed step, and counts of steps run and cached. It keeps
// a running step's output only until the step ends well.
type Recorder struct {
	mu      sync.Mutex
	running map[int]*StepLog
	failed  []StepLog
	done    int
	cached  int
}

// StepLog is one failed step: its StepFailed event and its output.
type StepLog struct {
	Event Event
	// Output is the step's output, one line per element; Dropped counts
	// the leading lines left out to stay within the memory bound.
	Output  []string
	Dropped int
	bytes   int
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{running: map[int]*StepLog{}} }

// Emit records e.
func (r *Recorder) Emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e.Kind {
	case StepStarted:
		r.running[e.ID] = &StepLog{}
	case StepOutput:
		l := r.running[e.ID]
		if l == nil {
			l = &StepLog{}
			r.running[e.ID] = l
		}
		l.Output = append(l.Output, e.Line)
		l.bytes += len(e.Line)
		for l.bytes > maxRecorded && len(l.Output) > 1 {
			l.bytes -= len(l.Output[0])
			l.Output = l.Output[1:]
			l.Dropped++
		}
	case StepDone:
		delete(r.running, e.ID)
		r.done++
	case StepCached:
		delete(r.running, e.ID)
		r.cached++
	case StepFailed:
		l := r.running[e.ID]
		if l == nil {
			l = &StepLog{}
		}
		delete(r.running, e.ID)
		l.Event = e
		r.failed = append(r.failed, *l)
	}
}

// Failed returns the failed steps in the order they failed.
func (r *Recorder) Failed() []StepLog {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]StepLog(nil), r.failed...)
}

// Counts returns how many steps ran to completion and how many were cached.
func (r *Recorder) Counts() (done, cached int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done, r.cached
}
