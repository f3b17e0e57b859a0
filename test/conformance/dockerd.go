package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Dockerd is a private Docker daemon: its own data root, exec root and
// socket under one directory, no iptables rules and no bridge, so it
// changes nothing on the host and a system daemon is not needed.
type Dockerd struct {
	// Dir holds everything the daemon writes; Stop removes it.
	Dir  string
	pid  int
	done chan error
}

// dockerdStartLimit bounds the wait for the daemon's first answer; a
// daemon that is not up by then is broken, not slow.
const dockerdStartLimit = 2 * time.Minute

// dockerdStopLimit is how long a daemon gets to stop its containerd and
// unmount its layers before it is killed.
const dockerdStopLimit = time.Minute

// StartDockerd starts the dockerd program (a path) in a new directory
// under parent and waits until it answers. parent must be short: the
// daemon's unix sockets (docker.sock, containerd's) live below it and a
// socket path is limited to about 100 bytes.
func StartDockerd(ctx context.Context, dockerd, parent string) (*Dockerd, error) {
	dir, err := os.MkdirTemp(parent, "zcd")
	if err != nil {
		return nil, fmt.Errorf("creating the dockerd directory: %w", err)
	}
	d := &Dockerd{Dir: dir, done: make(chan error, 1)}
	logFile, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("creating the dockerd log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(dockerd,
		"--iptables=false", "--bridge=none",
		"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "pid"), "-H", d.Host())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// If the test binary dies (a timeout panics without cleanups), the
	// kernel stops the daemon, which stops its containerd.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the child exits,
		// not the process: keep this thread until the daemon is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting dockerd: %w", err)
	}
	d.pid = cmd.Process.Pid
	if err := d.waitReady(ctx); err != nil {
		stopErr := d.Stop()
		return nil, errors.Join(err, stopErr)
	}
	return d, nil
}

// Host is the daemon's address for DOCKER_HOST.
func (d *Dockerd) Host() string { return "unix://" + filepath.Join(d.Dir, "docker.sock") }

// waitReady polls the API's /_ping until it answers, the daemon exits or
// the start limit passes.
func (d *Dockerd) waitReady(ctx context.Context) error {
	sock := filepath.Join(d.Dir, "docker.sock")
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", sock)
		},
	}, Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, dockerdStartLimit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
		if err != nil {
			return fmt.Errorf("pinging dockerd: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-d.done:
			d.done <- err // Stop reads it again
			return fmt.Errorf("dockerd exited before answering (%v):\n%s", err, d.logTail())
		case <-ctx.Done():
			return fmt.Errorf("waiting for dockerd: %w:\n%s", ctx.Err(), d.logTail())
		case <-tick.C:
		}
	}
}

func (d *Dockerd) logTail() string {
	data, err := os.ReadFile(filepath.Join(d.Dir, "log"))
	if err != nil {
		return "    (no log: " + err.Error() + ")\n"
	}
	return tail(string(data), 20)
}

// Stop terminates the daemon (killing it, and the containerd it started,
// if it does not stop in time), detaches what it left mounted and removes
// its directory.
func (d *Dockerd) Stop() error {
	var errs []error
	if err := syscall.Kill(d.pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		errs = append(errs, fmt.Errorf("stopping dockerd: %w", err))
	}
	select {
	case <-d.done:
	case <-time.After(dockerdStopLimit):
		// The containerd dockerd supervises would outlive a killed
		// dockerd: it is ours too, found through its pid file.
		killPidFile(filepath.Join(d.Dir, "exec", "containerd", "containerd.pid"))
		if err := syscall.Kill(d.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("killing dockerd: %w", err))
		}
		<-d.done
		errs = append(errs, fmt.Errorf("dockerd did not stop within %s and was killed:\n%s", dockerdStopLimit, d.logTail()))
	}
	if err := unmountUnder(d.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		errs = append(errs, fmt.Errorf("removing the dockerd directory: %w", err))
	}
	return errors.Join(errs...)
}

// killPidFile kills the process whose pid the file holds, if any.
func killPidFile(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 1 {
		syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // it may be gone already
	}
}
