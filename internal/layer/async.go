package layer

import (
	"errors"
	"io"
	"sync/atomic"
)

const (
	// chunkSize and chunks bound the data in flight between the tar
	// producer and the compressor: enough to keep both busy, small enough
	// not to matter for memory.
	chunkSize = 512 << 10
	chunks    = 4
)

// errConsumer is returned to the producer once the consumer has failed; the
// real error comes from Close.
var errConsumer = errors.New("layer compressor failed")

// asyncWriter hands fixed-size chunks to a goroutine that writes them to w,
// so the producer (tar walk and diff_id hash) and the consumer (compressor
// and digest hash) run in parallel on two cores.
type asyncWriter struct {
	w      io.WriteCloser
	full   chan []byte
	free   chan []byte
	done   chan struct{}
	err    error // written by the consumer before done is closed
	failed atomic.Bool
	cur    []byte
}

func newAsyncWriter(w io.WriteCloser) *asyncWriter {
	a := &asyncWriter{
		w:    w,
		full: make(chan []byte, chunks),
		free: make(chan []byte, chunks),
		done: make(chan struct{}),
	}
	for range chunks - 1 {
		a.free <- make([]byte, 0, chunkSize)
	}
	a.cur = make([]byte, 0, chunkSize)
	go a.consume()
	return a
}

func (a *asyncWriter) consume() {
	defer close(a.done)
	for b := range a.full {
		// After a failure keep draining so the producer never blocks.
		if a.err == nil {
			if _, err := a.w.Write(b); err != nil {
				a.err = err
				a.failed.Store(true)
			}
		}
		a.free <- b[:0]
	}
	if a.err == nil {
		a.err = a.w.Close()
	}
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if a.failed.Load() {
			return written, errConsumer
		}
		n := copy(a.cur[len(a.cur):cap(a.cur)], p)
		a.cur = a.cur[:len(a.cur)+n]
		p = p[n:]
		written += n
		if len(a.cur) == cap(a.cur) {
			a.full <- a.cur
			a.cur = <-a.free
		}
	}
	return written, nil
}

// Close flushes the last chunk, waits for the consumer and closes w; it
// returns the consumer's first error.
func (a *asyncWriter) Close() error {
	if len(a.cur) > 0 {
		a.full <- a.cur
		a.cur = nil
	}
	close(a.full)
	<-a.done
	return a.err
}
