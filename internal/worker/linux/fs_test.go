//go:build linux

package linux

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/zbuild/zbuild/plan"
)

// TestUpperChanges checks that the upper dir holds exactly what a command
// changed: no mount stubs, generated /etc files or copied-up parents.
func TestUpperChanges(t *testing.T) {
	lower := busyboxRootfs(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srcFile := filepath.Join(t.TempDir(), "single")
	if err := os.WriteFile(srcFile, []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		script string
		spec   RunSpec
		want   []string // upper entries after Unmount
		stdout string   // exact, when set
		check  func(t *testing.T, s *Snapshot)
	}{
		{name: "nothing", script: "true"},
		{name: "reads generated etc files", script: "cat /etc/hosts /etc/resolv.conf /etc/hostname > /dev/null"},
		{name: "new file", script: "echo x > /root/new", want: []string{"root", "root/new"}},
		{name: "cwd is kept", script: "true", spec: RunSpec{Cwd: "/app/src"}, want: []string{"app", "app/src"}},
		{name: "rm makes a whiteout", script: "rm /bin/ls", want: []string{"bin", "bin/ls"}, check: func(t *testing.T, s *Snapshot) {
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(s.Upper, "bin/ls"), &st); err != nil {
				t.Fatal(err)
			}
			if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
				t.Errorf("bin/ls in upper has mode %o rdev %d, want a 0/0 char device", st.Mode, st.Rdev)
			}
		}},
		{name: "tmpfs", script: "echo x > /scratch/f && grep -c ' /scratch tmpfs' /proc/mounts && stat -c %a /scratch",
			spec: RunSpec{Mounts: []Mount{{Type: MountTmpfs, Target: "/scratch", Size: 1 << 20}}}, stdout: "1\n1777\n"},
		{name: "tmpfs in an existing dir", script: "echo x > /root/.cache/x/f",
			spec: RunSpec{Mounts: []Mount{{Type: MountTmpfs, Target: "/root/.cache/x"}}}},
		{name: "bind read-only", script: "cat /src/file; touch /src/new 2>/dev/null || echo ro",
			spec: RunSpec{Mounts: []Mount{{Type: MountBind, Target: "/src", Source: src, ReadOnly: true}}}, stdout: "data\nro\n"},
		{name: "bind writable, discarded", script: "echo more >> /src/file && rm /src/file && echo new > /src/new && cat /src/new",
			spec: RunSpec{Mounts: []Mount{{Type: MountBind, Target: "/src", Source: src}}}, stdout: "new\n",
			check: func(t *testing.T, s *Snapshot) {
				entries, _ := os.ReadDir(src)
				data, _ := os.ReadFile(filepath.Join(src, "file"))
				if len(entries) != 1 || string(data) != "data\n" {
					t.Errorf("bind source changed: %v, file %q", entries, data)
				}
			}},
		{name: "bind writable file", script: "echo two >> /etc/single && cat /etc/single",
			spec: RunSpec{Mounts: []Mount{{Type: MountBind, Target: "/etc/single", Source: srcFile}}}, stdout: "one\ntwo\n",
			check: func(t *testing.T, s *Snapshot) {
				if data, _ := os.ReadFile(srcFile); string(data) != "one\n" {
					t.Errorf("bind source changed to %q", data)
				}
			}},
		{name: "secret file", script: "cat /run/secrets/token; stat -c '%a %u' /run/secrets/token",
			spec:   RunSpec{User: "app", Mounts: []Mount{{Type: MountSecret, Target: "/run/secrets/token", SecretData: []byte("s3cr3t"), UID: 1000}}},
			stdout: "s3cr3t400 1000\n"}, // the secret has no newline
		{name: "secret env", script: `echo "$TOKEN"; test -e /run/secrets || echo no file`,
			spec:   RunSpec{Mounts: []Mount{{Type: MountSecret, Env: "TOKEN", SecretData: []byte("s3cr3t")}}},
			stdout: "s3cr3t\nno file\n"},
		{name: "heredoc", script: "/dev/pipes/run.sh", spec: RunSpec{Files: []plan.InlineFile{{Name: "run.sh", Data: "#!/bin/sh\necho hi > /root/out\n"}}},
			want: []string{"root", "root/out"}},
	}
	forEachRuntime(t, func(t *testing.T, w *Worker) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := prepare(t, w, lower)
				out, err := run(t, w, s, tt.script, tt.spec)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if tt.stdout != "" && out != tt.stdout {
					t.Errorf("stdout %q, want %q", out, tt.stdout)
				}
				if err := s.Unmount(); err != nil {
					t.Fatal(err)
				}
				if got := upperEntries(t, s); !slices.Equal(got, tt.want) {
					t.Errorf("upper has %q, want %q", got, tt.want)
				}
				if tt.check != nil {
					tt.check(t, s)
				}
				if leftover := mountsUnder(t, w.root); len(leftover) > 0 {
					t.Errorf("mounts left under the worker root: %q", leftover)
				}
			})
		}
	})
}

func TestSSHMount(t *testing.T) {
	lower := busyboxRootfs(t)
	agent := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", agent)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	forEachRuntime(t, func(t *testing.T, w *Worker) {
		s := prepare(t, w, lower)
		out, err := run(t, w, s, `echo $SSH_AUTH_SOCK; stat -c '%F %u %a' $SSH_AUTH_SOCK`, RunSpec{
			User:   "app",
			Mounts: []Mount{{Type: MountSSH, Target: "/run/buildkit/ssh_agent.0", Source: agent, UID: 1000, GID: 1000}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := "/run/buildkit/ssh_agent.0\nsocket 1000 600\n"; out != want {
			t.Errorf("stdout %q, want %q", out, want)
		}
		if err := s.Unmount(); err != nil {
			t.Fatal(err)
		}
		if got := upperEntries(t, s); len(got) > 0 {
			t.Errorf("upper has %q", got)
		}
	})
}

// TestSSHProxy checks the forwarding itself from this process: busybox
// has no client for unix sockets to do it from inside a container.
func TestSSHProxy(t *testing.T) {
	requireRoot(t)
	agent := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", agent)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				n, _ := c.Read(buf)
				c.Write([]byte(strings.ToUpper(string(buf[:n]))))
			}()
		}
	}()
	p, sock, err := newSSHProxy(agent, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "PING" {
		t.Fatalf("read %q, %v; want PING", buf[:n], err)
	}
	c.Close()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("proxy socket left behind: %v", err)
	}
}

func TestCancel(t *testing.T) {
	lower := busyboxRootfs(t)
	forEachRuntime(t, func(t *testing.T, w *Worker) {
		s, err := w.Prepare(context.Background(), []string{lower})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out := &signalWriter{marker: "started", ready: make(chan struct{})}
		errc := make(chan error, 1)
		go func() {
			errc <- w.Run(ctx, s, RunSpec{
				Args:   []string{"/bin/sh", "-c", "echo started; sleep 100"},
				Stdout: out,
				Mounts: []Mount{{Type: MountSecret, Target: "/run/s", SecretData: []byte("x")}, {Type: MountBind, Target: "/src", Source: t.TempDir()}},
			})
		}()
		select {
		case <-out.ready:
		case err := <-errc:
			t.Fatalf("Run returned before the command started: %v", err)
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
		if err := s.Remove(); err != nil {
			t.Fatal(err)
		}
		if leftover := mountsUnder(t, w.root); len(leftover) > 0 {
			t.Errorf("mounts left: %q", leftover)
		}
		for _, d := range []string{"runtime", "runs", "snapshots"} {
			if entries, _ := os.ReadDir(filepath.Join(w.root, d)); len(entries) > 0 {
				t.Errorf("%s/ not empty: %v", d, entries)
			}
		}
	})
}
