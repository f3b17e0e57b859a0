package copier

import (
	"context"
	"sync"
	"sync/atomic"
)

// fileWorkers is how many regular files of a directory source are written
// at once. Small-file copies are dominated by file creation in the kernel,
// and overlapping it helps even on 2 cores: BenchmarkCopy's 20,000 files
// into an overlay on tmpfs took 400 and 431 ms with 1 worker against 250
// and 363 ms with 4 (two runs on a shared, noisy machine; 8 was no better).
// On this project's ext4 host creation is far slower (ext4's
// recently_deleted inode scan dominates) and workers neither help nor hurt.
// Tests and the benchmark change it to compare.
var fileWorkers = 4

// fileJob is one regular file to copy.
type fileJob struct {
	src, dst string
	m        meta
}

// filePool writes regular files in the background while the walk goes on.
// Everything else (directories, links, device nodes) stays on the walking
// goroutine, which creates every parent before it submits a file below it.
type filePool struct {
	c      *copier
	ctx    context.Context
	jobs   chan fileJob
	wg     sync.WaitGroup
	failed atomic.Bool
	mu     sync.Mutex
	err    error
	stats  Stats
}

// newPool starts the workers, or returns nil when files are to be copied
// one by one.
func (c *copier) newPool(ctx context.Context) *filePool {
	if fileWorkers < 2 {
		return nil
	}
	p := &filePool{c: c, ctx: ctx, jobs: make(chan fileJob, 4*fileWorkers)}
	p.wg.Add(fileWorkers)
	for range fileWorkers {
		go p.work()
	}
	return p
}

func (p *filePool) work() {
	defer p.wg.Done()
	var st Stats
	xbuf := make([]byte, 1024)
	for j := range p.jobs {
		if p.failed.Load() {
			continue // drain: the walk stops at its next submit
		}
		n, err := p.c.copyFile(p.ctx, j.src, j.dst, j.m, &xbuf)
		if err != nil {
			p.fail(err)
			continue
		}
		st.Files++
		st.Bytes += n
	}
	p.mu.Lock()
	p.stats.Files += st.Files
	p.stats.Bytes += st.Bytes
	p.mu.Unlock()
}

func (p *filePool) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
	p.failed.Store(true)
}

// submit queues a file; it reports a worker's earlier failure instead.
func (p *filePool) submit(j fileJob) error {
	if p.failed.Load() {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	}
	select {
	case p.jobs <- j:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// wait lets the queued files finish and returns what they added up to and
// the first error.
func (p *filePool) wait() (Stats, error) {
	close(p.jobs)
	p.wg.Wait()
	return p.stats, p.err
}
