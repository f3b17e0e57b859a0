//go:build linux

package linux

import (
	"bytes"
	"sync"
)

const (
	tailLines   = 20
	maxLineSize = 4 << 10 // longer lines are cut: the tail is for people
)

// tail keeps the last lines written to any of its streams.
type tail struct {
	mu    sync.Mutex
	lines []string
}

// stream returns a writer for one output stream; each keeps its own
// partial line so stdout and stderr do not splice into each other.
func (t *tail) stream() *tailStream { return &tailStream{t: t} }

func (t *tail) add(line []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == tailLines {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:tailLines-1]
	}
	t.lines = append(t.lines, string(bytes.TrimRight(line, "\r")))
}

func (t *tail) result(streams ...*tailStream) []string {
	for _, s := range streams {
		s.flush()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

type tailStream struct {
	t       *tail
	partial []byte
}

func (s *tailStream) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLineSize - len(s.partial)
			s.partial = append(s.partial, p[:min(room, len(p))]...)
			break
		}
		room := maxLineSize - len(s.partial)
		s.partial = append(s.partial, p[:min(room, i)]...)
		s.t.add(s.partial)
		s.partial = s.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (s *tailStream) flush() {
	if len(s.partial) > 0 {
		s.t.add(s.partial)
		s.partial = nil
	}
}
