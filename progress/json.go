package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// SummaryKind is the kind of the last object the JSON renderer writes for a
// successful build; its fields are those of Summary.
const SummaryKind Kind = "build.summary"

// JSON renders one JSON object per event and line; docs/progress-json.md
// documents the schema.
type JSON struct {
	mu  sync.Mutex
	enc *json.Encoder
	// now stamps the summary object; tests fix it.
	now func() time.Time
}

// NewJSON returns a JSON-lines renderer writing to w.
func NewJSON(w io.Writer) *JSON {
	enc := json.NewEncoder(w)
	// Output lines are shown to people by the consumer: keep <, > and &
	// readable instead of \u003c.
	enc.SetEscapeHTML(false)
	return &JSON{enc: enc, now: time.Now}
}

// Emit writes e as one line of JSON. An event without a time is stamped
// now, so every object has one.
func (j *JSON) Emit(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = j.now()
	}
	e.Line = strings.TrimRight(e.Line, "\n")
	_ = j.enc.Encode(e)
}

// Close writes a build.summary object for a successful build.
func (j *JSON) Close(sum *Summary) error {
	if sum == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	obj := struct {
		Time time.Time `json:"time"`
		Kind Kind      `json:"kind"`
		*Summary
	}{j.now(), SummaryKind, sum}
	if err := j.enc.Encode(obj); err != nil {
		return fmt.Errorf("writing the build summary: %w", err)
	}
	return nil
}
