package buildah

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
)

// CLI runs buildah commands. Its zero value runs "buildah" from PATH with
// buildah's own storage and containers.conf settings.
type CLI struct {
	// Binary is the buildah program; "" is "buildah" looked up in PATH.
	Binary string
	// Root and RunRoot, when set, are passed as --root and --runroot.
	Root, RunRoot string
	// StorageDriver, when set, is passed as --storage-driver.
	StorageDriver string
	// Runtime, when set, is the OCI runtime of RUN steps (--runtime).
	Runtime string
	// Isolation is "oci" (the default), "chroot" or "rootless".
	Isolation string
}

// CommandError is a buildah command that failed, with what it printed.
type CommandError struct {
	Args   []string
	Output string
	Err    error
}

func (e *CommandError) Error() string {
	msg := strings.TrimSpace(e.Output)
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		msg = msg[i+1:] // buildah prints the cause last
	}
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("buildah %s: %s", strings.Join(e.Args[:min(2, len(e.Args))], " "), msg)
}

func (e *CommandError) Unwrap() error { return e.Err }

// ErrNotInstalled is returned when the buildah program cannot be found.
var ErrNotInstalled = errors.New("buildah is not installed (Debian/Ubuntu: apt-get install buildah; Fedora/RHEL: dnf install buildah)")

func (c *CLI) binary() (string, error) {
	bin := c.Binary
	if bin == "" {
		bin = "buildah"
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	return p, nil
}

func (c *CLI) global() []string {
	var g []string
	if c.Root != "" {
		g = append(g, "--root", c.Root)
	}
	if c.RunRoot != "" {
		g = append(g, "--runroot", c.RunRoot)
	}
	if c.StorageDriver != "" {
		g = append(g, "--storage-driver", c.StorageDriver)
	}
	return g
}

// Output runs buildah with args and returns its standard output, trimmed.
func (c *CLI) Output(ctx context.Context, args ...string) (string, error) {
	// Both pipes write to all, from two goroutines.
	var stdout bytes.Buffer
	var all lockedBuffer
	err := c.stream(ctx, args, io.MultiWriter(&stdout, &all), &all)
	if err != nil {
		return "", &CommandError{Args: args, Output: all.String(), Err: err}
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Stream runs buildah with args and calls line for every line it prints.
func (c *CLI) Stream(ctx context.Context, line func(stream, text string), args ...string) error {
	var all lockedBuffer
	out, errOut := lineWriter(&all, "stdout", line), lineWriter(&all, "stderr", line)
	err := c.stream(ctx, args, out, errOut)
	out.Close()
	errOut.Close()
	if err != nil {
		return &CommandError{Args: args, Output: all.String(), Err: err}
	}
	return nil
}

func (c *CLI) stream(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	bin, err := c.binary()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, append(c.global(), args...)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// buildah takes storage locks; on cancel let it exit on SIGTERM
	// rather than leaving a lock held by a killed process.
	cmd.Cancel = func() error { return cmd.Process.Signal(terminate) }
	cmd.WaitDelay = waitDelay
	return cmd.Run()
}

var versionRE = regexp.MustCompile(`version (\d+\.\d+(\.\d+)?)`)

// Version returns buildah's version ("1.28.2").
func (c *CLI) Version(ctx context.Context) (string, error) {
	out, err := c.Output(ctx, "--version")
	if err != nil {
		return "", err
	}
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("unrecognised buildah version output %q", out)
	}
	return m[1], nil
}

// lockedBuffer keeps everything a command printed, from two pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lineWriter splits what is written into lines for fn and copies it to all.
func lineWriter(all io.Writer, stream string, fn func(stream, text string)) io.WriteCloser {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(all, sc.Text())
			if fn != nil {
				fn(stream, sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, pr) // drain an over-long line
	}()
	return &pipeCloser{pw: pw, done: done}
}

type pipeCloser struct {
	pw   *io.PipeWriter
	done chan struct{}
}

func (p *pipeCloser) Write(b []byte) (int, error) { return p.pw.Write(b) }

// Close waits until every line has been handed on.
func (p *pipeCloser) Close() error {
	err := p.pw.Close()
	<-p.done
	return err
}
