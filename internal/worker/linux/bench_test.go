//go:build linux

package linux

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childCPU is the user+system time used by waited-for child processes.
func childCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_CHILDREN, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRun measures the cost of one RUN step (`/bin/true` on busybox,
// default network, stubs cleaned) per runtime; doc.go records the result
// that picked the default runtime.
func BenchmarkRun(b *testing.B) {
	lower := busyboxRootfs(b)
	for _, rt := range runtimes {
		b.Run(rt, func(b *testing.B) {
			if _, err := exec.LookPath(rt); err != nil {
				b.Skipf("%s not installed", rt)
			}
			w := newWorker(b, WithRuntime(rt))
			s := prepare(b, w, lower)
			spec := RunSpec{Args: []string{"/bin/true"}}
			before := childCPU(b)
			for b.Loop() {
				if err := w.Run(context.Background(), s, spec); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time of the runtime processes is steadier than wall
			// time on a loaded machine.
			b.ReportMetric(float64(childCPU(b)-before)/float64(b.N)/1e6, "child-cpu-ms/op")
		})
	}
}
