package engine

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/progress"
)

// progressInterval bounds how often transfer progress is reported.
const progressInterval = 250 * time.Millisecond

// pullProgress wraps a remote image so that reading its layers (what the
// store does to pull them) reports bytes as Pull events keyed by ref.
func pullProgress(img v1.Image, ref string, events progress.Sink) (v1.Image, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	var total int64
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return img, nil // sizes unknown: pull without byte progress
		}
		total += n
	}
	c := &transferCounter{events: events, ref: ref, total: total}
	return &countingImage{Image: img, c: c}, nil
}

type transferCounter struct {
	events progress.Sink
	ref    string
	total  int64
	done   atomic.Int64
	mu     sync.Mutex
	last   time.Time
}

func (c *transferCounter) add(n int) {
	cur := c.done.Add(int64(n))
	c.mu.Lock()
	now := time.Now()
	if now.Sub(c.last) < progressInterval && cur < c.total {
		c.mu.Unlock()
		return
	}
	c.last = now
	c.mu.Unlock()
	c.events.Emit(progress.Event{Time: now, Kind: progress.Pull, Text: c.ref, Line: "pulling " + c.ref, Current: cur, Total: c.total})
}

type countingImage struct {
	v1.Image
	c *transferCounter
}

func (i *countingImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = &countingLayer{Layer: l, c: i.c}
	}
	return out, nil
}

type countingLayer struct {
	v1.Layer
	c *transferCounter
}

func (l *countingLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return &countingReader{ReadCloser: rc, c: l.c}, nil
}

type countingReader struct {
	io.ReadCloser
	c *transferCounter
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.c.add(n)
	}
	return n, err
}
