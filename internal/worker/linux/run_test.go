//go:build linux

package linux

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/zbuild/zbuild/plan"
)

func TestRun(t *testing.T) {
	lower := busyboxRootfs(t)
	tests := []struct {
		name   string
		script string
		spec   RunSpec
		want   string // exact stdout, unless contains is set
		// contains lists substrings stdout must have.
		contains []string
		// hostNet compares stdout with the host's interfaces read right
		// after the run (other programs may add interfaces meanwhile).
		hostNet bool
	}{
		{name: "echo", script: "echo hello", want: "hello\n"},
		{name: "env", script: `echo "$FOO|$PATH|$HOME"`, spec: RunSpec{Env: []string{"FOO=bar baz"}},
			want: "bar baz|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root\n"},
		{name: "env keeps PATH and HOME", script: `echo "$PATH|$HOME"`, spec: RunSpec{Env: []string{"PATH=/bin", "HOME=/tmp"}},
			want: "/bin|/tmp\n"},
		{name: "cwd", script: "pwd", spec: RunSpec{Cwd: "/work/dir"}, want: "/work/dir\n"},
		{name: "user by name", script: `id -u; id -g; id -G; echo $HOME`, spec: RunSpec{User: "app"},
			want: "1000\n1000\n1000 50\n/home/app\n"},
		{name: "user by id", script: `id -u; id -g`, spec: RunSpec{User: "1000:50"}, want: "1000\n50\n"},
		{name: "unknown numeric user", script: `id -u; id -g`, spec: RunSpec{User: "4242"}, want: "4242\n0\n"},
		{name: "hostname", script: "hostname; cat /etc/hostname; grep -c builder /etc/hosts", spec: RunSpec{Hostname: "builder"},
			want: "builder\nbuilder\n1\n"},
		{name: "default hostname", script: "hostname", want: "zbuild\n"},
		{name: "network none", script: "ls /sys/class/net; ip link show lo", spec: RunSpec{Network: NetworkNone},
			contains: []string{"lo\n", "LOOPBACK,UP"}},
		{name: "network default", script: "ls /sys/class/net", hostNet: true},
		{name: "network host", script: "ls /sys/class/net", spec: RunSpec{Network: NetworkHost}, hostNet: true},
		{name: "pid namespace", script: "echo $$", want: "1\n"},
		{name: "heredoc file", script: "/dev/pipes/EOF; ls -l /dev/pipes/EOF | cut -c1-10",
			spec: RunSpec{Files: []plan.InlineFile{{Name: "EOF", Data: "#!/bin/sh\necho from heredoc\n"}}},
			want: "from heredoc\n-rwxr-xr-x\n"},
		{name: "default capabilities", script: "grep -E '^(CapEff|Seccomp):' /proc/self/status",
			contains: []string{"CapEff:\t00000000a80425fb", "Seccomp:\t2"}},
		{name: "insecure", script: "grep -E '^Seccomp:' /proc/self/status; wc -c < /proc/timer_list",
			spec: RunSpec{Insecure: true}, contains: []string{"Seccomp:\t0"}},
		{name: "masked paths", script: "wc -c < /proc/timer_list; touch /proc/sys/x 2>/dev/null || echo ro",
			want: "0\nro\n"},
		{name: "devices", script: "echo x > /dev/null && head -c 4 /dev/zero | wc -c && ls /dev/pts/ptmx",
			want: "4\n/dev/pts/ptmx\n"},
		{name: "nofile limit", script: "ulimit -n", want: nofile(t)},
	}
	forEachRuntime(t, func(t *testing.T, w *Worker) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := prepare(t, w, lower)
				got, err := run(t, w, s, tt.script, tt.spec)
				if err != nil {
					t.Fatalf("Run: %v (stdout %q)", err, got)
				}
				if tt.hostNet {
					// The same network namespace sees the same interfaces;
					// a second try rules out one appearing mid-test.
					for try := 0; try < 2; try++ {
						now, err := os.ReadDir("/sys/class/net")
						if err != nil {
							t.Fatal(err)
						}
						if tt.want = netList(now); got == tt.want || try == 1 {
							break
						}
						if got, err = run(t, w, prepare(t, w, lower), tt.script, tt.spec); err != nil {
							t.Fatal(err)
						}
					}
				}
				if tt.contains == nil && got != tt.want {
					t.Errorf("stdout %q, want %q", got, tt.want)
				}
				for _, c := range tt.contains {
					if !strings.Contains(got, c) {
						t.Errorf("stdout %q lacks %q", got, c)
					}
				}
			})
		}
	})
}

func netList(entries []os.DirEntry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Name() + "\n")
	}
	return b.String()
}

func nofile(t *testing.T) string {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	return itoa(min(rl.Max, maxNofile)) + "\n"
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestRunErrors(t *testing.T) {
	lower := busyboxRootfs(t)
	forEachRuntime(t, func(t *testing.T, w *Worker) {
		t.Run("exit code and tail", func(t *testing.T) {
			s := prepare(t, w, lower)
			var script strings.Builder
			var want []string
			for i := range 30 {
				script.WriteString("echo line" + itoa(uint64(i)) + "; ")
				if i >= 30-tailLines {
					want = append(want, "line"+itoa(uint64(i)))
				}
			}
			script.WriteString("exit 3")
			_, err := run(t, w, s, script.String(), RunSpec{})
			var exit *ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("error %v is not an *ExitError", err)
			}
			if exit.Code != 3 || exit.Args[0] != "/bin/sh" {
				t.Errorf("ExitError %+v", exit)
			}
			if !slices.Equal(exit.Tail, want) {
				t.Errorf("tail %q, want %q", exit.Tail, want)
			}
		})
		t.Run("stderr in tail", func(t *testing.T) {
			s := prepare(t, w, lower)
			_, err := run(t, w, s, "echo oops >&2; exit 1", RunSpec{})
			var exit *ExitError
			if !errors.As(err, &exit) || exit.Code != 1 || !slices.Equal(exit.Tail, []string{"oops"}) {
				t.Fatalf("error %#v, want exit code 1 with tail [oops]", err)
			}
		})
		t.Run("missing executable", func(t *testing.T) {
			s := prepare(t, w, lower)
			err := w.Run(t.Context(), s, RunSpec{Args: []string{"/no/such/binary"}})
			var exit *ExitError
			if err == nil || errors.As(err, &exit) || !strings.Contains(err.Error(), "/no/such/binary") {
				t.Fatalf("error %v, want a runtime error naming the binary", err)
			}
		})
		invalid := []struct {
			name string
			spec RunSpec
		}{
			{"no args", RunSpec{}},
			{"bad network", RunSpec{Args: []string{"true"}, Network: "bridge"}},
			{"relative cwd", RunSpec{Args: []string{"true"}, Cwd: "src"}},
			{"relative mount", RunSpec{Args: []string{"true"}, Mounts: []Mount{{Type: MountTmpfs, Target: "tmp"}}}},
			{"unknown mount", RunSpec{Args: []string{"true"}, Mounts: []Mount{{Type: "volume", Target: "/v"}}}},
			{"bind without source", RunSpec{Args: []string{"true"}, Mounts: []Mount{{Type: MountBind, Target: "/v"}}}},
			{"unknown user", RunSpec{Args: []string{"true"}, User: "nobody"}},
			{"bad heredoc name", RunSpec{Args: []string{"true"}, Files: []plan.InlineFile{{Name: "../x"}}}},
		}
		for _, tt := range invalid {
			t.Run(tt.name, func(t *testing.T) {
				s := prepare(t, w, lower)
				if err := w.Run(t.Context(), s, tt.spec); err == nil {
					t.Fatal("Run accepted an invalid spec")
				}
			})
		}
		t.Run("unmounted snapshot", func(t *testing.T) {
			s := prepare(t, w, lower)
			if err := s.Unmount(); err != nil {
				t.Fatal(err)
			}
			if err := w.Run(t.Context(), s, RunSpec{Args: []string{"true"}}); !errors.Is(err, errNotMounted) {
				t.Fatalf("error %v, want errNotMounted", err)
			}
		})
	})
}

// TestParallelRuns runs steps at once on separate snapshots, as the engine
// does for independent stages.
func TestParallelRuns(t *testing.T) {
	lower := busyboxRootfs(t)
	forEachRuntime(t, func(t *testing.T, w *Worker) {
		const n = 4
		snaps := make([]*Snapshot, n)
		for i := range snaps {
			snaps[i] = prepare(t, w, lower)
		}
		errs := make(chan error, n)
		outs := make([]string, n)
		for i := range n {
			go func() {
				var err error
				outs[i], err = run(t, w, snaps[i], "echo "+itoa(uint64(i))+" | tee /root/id", RunSpec{
					Mounts: []Mount{{Type: MountSecret, Target: "/run/s", SecretData: []byte("x")}},
				})
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		for i, s := range snaps {
			data, err := os.ReadFile(s.Upper + "/root/id")
			if want := itoa(uint64(i)) + "\n"; err != nil || string(data) != want || outs[i] != want {
				t.Errorf("snapshot %d: file %q (%v), stdout %q; want %q", i, data, err, outs[i], want)
			}
		}
	})
}
