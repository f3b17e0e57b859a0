//go:build linux

package linux

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// runtimes are the OCI runtimes every run test is repeated with.
var runtimes = []string{"crun", "runc"}

// forEachRuntime runs f once per installed runtime, with a fresh worker.
func forEachRuntime(t *testing.T, f func(t *testing.T, w *Worker)) {
	t.Helper()
	requireRoot(t)
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			if _, err := exec.LookPath(rt); err != nil {
				t.Skipf("%s is not installed (apt-get install %s)", rt, rt)
			}
			f(t, newWorker(t, WithRuntime(rt)))
		})
	}
}

func newWorker(t testing.TB, opts ...Option) *Worker {
	t.Helper()
	requireRoot(t)
	w, err := New(filepath.Join(t.TempDir(), "root"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// prepare mounts a snapshot over lowers and removes it when the test ends.
func prepare(t testing.TB, w *Worker, lowers ...string) *Snapshot {
	t.Helper()
	s, err := w.Prepare(context.Background(), lowers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Remove(); err != nil {
			t.Errorf("removing snapshot: %v", err)
		}
	})
	return s
}

// run runs a shell script as spec (Args replaced) and returns stdout.
func run(t testing.TB, w *Worker, s *Snapshot, script string, spec RunSpec) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	spec.Args = []string{"/bin/sh", "-c", script}
	spec.Stdout, spec.Stderr = &out, &errOut
	err := w.Run(context.Background(), s, spec)
	if err != nil && errOut.Len() > 0 {
		t.Logf("stderr: %s", errOut.String())
	}
	return out.String(), err
}

// upperEntries lists the upper dir's entries (relative paths).
func upperEntries(t testing.TB, s *Snapshot) []string {
	t.Helper()
	var out []string
	filepath.Walk(s.Upper, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != s.Upper {
			rel, _ := filepath.Rel(s.Upper, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// mountsUnder lists mount points below dir, from /proc/self/mountinfo.
func mountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	return out
}

// signalWriter closes ready when the output contains marker.
type signalWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	ready  chan struct{}
	once   sync.Once
}

func (s *signalWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	if strings.Contains(s.buf.String(), s.marker) {
		s.once.Do(func() { close(s.ready) })
	}
	return len(p), nil
}
