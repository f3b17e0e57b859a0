package progress

import "sync"

// Buffered is a Sink that never blocks its caller: events queue in memory
// and one goroutine hands them, in order, to a slower sink such as a
// terminal view. The queue is unbounded on purpose: a renderer that falls
// behind costs memory for a while, never build time.
type Buffered struct {
	deliver func([]Event)

	mu     sync.Mutex
	queue  []Event
	closed bool

	wake chan struct{}
	done chan struct{}
	once sync.Once
}

// NewBuffered returns a Buffered sink feeding dst. Call Close when the
// build is over to flush what is queued.
func NewBuffered(dst Sink) *Buffered {
	return newBatched(func(batch []Event) {
		for _, e := range batch {
			dst.Emit(e)
		}
	})
}

// newBatched is NewBuffered for a consumer that takes every queued event at
// once, so a burst of output lines costs it one wake-up.
func newBatched(deliver func([]Event)) *Buffered {
	b := &Buffered{deliver: deliver, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go b.loop()
	return b
}

// Emit queues e; events emitted after Close are dropped.
func (b *Buffered) Emit(e Event) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.queue = append(b.queue, e)
	b.mu.Unlock()
	b.signal()
}

// Close delivers every queued event and stops the goroutine. It is safe to
// call more than once.
func (b *Buffered) Close() {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		b.signal()
	})
	<-b.done
}

func (b *Buffered) signal() {
	select {
	case b.wake <- struct{}{}:
	default: // a wake-up is already pending; it will see this event too
	}
}

func (b *Buffered) loop() {
	defer close(b.done)
	for range b.wake {
		b.mu.Lock()
		batch, closed := b.queue, b.closed
		b.queue = nil
		b.mu.Unlock()
		if len(batch) > 0 {
			b.deliver(batch)
		}
		if closed {
			return
		}
	}
}

// Async wraps r so that Emit never blocks: events reach r from a Buffered
// queue, and Close flushes the queue before closing r. Plain and JSON
// writers to a slow pipe then cost memory, not build time.
func Async(r Renderer) Renderer { return &async{Buffered: NewBuffered(r), r: r} }

type async struct {
	*Buffered
	r Renderer
}

func (a *async) Close(sum *Summary) error {
	a.Buffered.Close()
	return a.r.Close(sum)
}
