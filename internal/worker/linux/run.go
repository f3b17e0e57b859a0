//go:build linux

package linux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/zbuild/zbuild/internal/userdb"
	"github.com/zbuild/zbuild/plan"
)

// Network modes of RunSpec.Network.
const (
	// NetworkDefault shares the host's network namespace, which gives RUN
	// the outbound network `docker build` gives it (there is no bridge or
	// CNI here): the step can also reach services on the host's loopback.
	NetworkDefault = "default"
	// NetworkNone gives the step a new network namespace with only
	// loopback, up.
	NetworkNone = "none"
	// NetworkHost shares the host's network namespace.
	NetworkHost = "host"
)

// RunSpec is one process to run in a snapshot.
type RunSpec struct {
	// Args is the argv; Args[0] is looked up in the container's PATH.
	Args []string
	// Env holds NAME=value pairs; PATH and HOME get defaults when absent.
	Env []string
	// Cwd is the working directory, created when missing; "" means "/".
	Cwd string
	// User is "name", "uid", "name:group", "uid:gid"… resolved in the
	// snapshot's /etc/passwd and /etc/group; "" means root.
	User string
	// Network is "" or NetworkDefault, NetworkNone or NetworkHost.
	Network string
	// Hostname defaults to "zbuild".
	Hostname string
	// Mounts are the step's RUN --mount entries, resolved to host paths.
	Mounts []Mount
	// Files are heredoc scripts, mounted read-only under plan.FilesDir.
	Files []plan.InlineFile
	// Stdout and Stderr receive the process's output as it comes; nil
	// discards it.
	Stdout, Stderr io.Writer
	// Insecure (RUN --security=insecure) grants every capability and
	// device and drops seccomp and the masked and read-only paths.
	Insecure bool
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	// Code is the exit status; 128+N when killed by signal N.
	Code int
	Args []string
	// Tail holds the last lines of output (stdout and stderr).
	Tail []string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("process %q did not complete successfully: exit code: %d", strings.Join(e.Args, " "), e.Code)
}

// killRetry is how often a cancelled run re-sends SIGKILL: the container
// may not exist yet when cancellation arrives.
const killRetry = 100 * time.Millisecond

// killGiveUp is how many kill rounds pass before the runtime process
// itself is killed (it is stuck before creating the container).
const killGiveUp = 50

// Run runs spec.Args in the snapshot and returns when the process has
// exited and the container is gone. A non-zero exit is an *ExitError.
// Cancelling ctx kills the container and returns ctx's error. Mount stubs
// the runtime creates are removed afterwards (see stubs.go).
func (w *Worker) Run(ctx context.Context, s *Snapshot, spec RunSpec) (err error) {
	if err := validateSpec(spec); err != nil {
		return err
	}
	if !s.isMounted() {
		return fmt.Errorf("running %q: %w", spec.Args, errNotMounted)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	user := spec.User
	if user == "" {
		user = "0" // root, with its home and groups from /etc/passwd
	}
	ident, err := userdb.Resolve(s.Merged, user)
	if err != nil {
		return fmt.Errorf("resolving user %q: %w", spec.User, err)
	}
	cwd := spec.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := mkdirInRoot(s.Merged, cwd); err != nil {
		return err
	}

	id := "zbuild-" + randomID()
	bundle := filepath.Join(w.root, "runs", id)
	if err := os.Mkdir(bundle, 0o700); err != nil {
		return fmt.Errorf("creating run dir: %w", err)
	}
	ms := &mountSet{dir: bundle}
	defer func() {
		cerr := errors.Join(ms.close(), os.RemoveAll(bundle))
		if err == nil && cerr != nil {
			err = fmt.Errorf("cleaning up after %q: %w", spec.Args, cerr)
		}
	}()

	hostname := spec.Hostname
	if hostname == "" {
		hostname = defaultHostname
	}
	netns := spec.Network == NetworkNone
	if err := ms.addEtc(hostname, netns); err != nil {
		return err
	}
	if err := ms.addFiles(spec.Files); err != nil {
		return err
	}
	for _, m := range sortByDepth(spec.Mounts) {
		if err := ms.add(m); err != nil {
			return err
		}
	}
	cfg, err := buildSpec(specInput{
		id:       id,
		rootfs:   s.Merged,
		args:     spec.Args,
		env:      append(processEnv(spec.Env, ident.Home), ms.env...),
		cwd:      cwd,
		user:     ident,
		hostname: hostname,
		netns:    netns,
		insecure: spec.Insecure,
		mounts:   ms.mounts,
	})
	if err != nil {
		return err
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encoding runtime spec: %w", err)
	}
	// The spec holds secrets passed as environment variables: keep it
	// off the disk, with the secret files.
	specDir := bundle
	if hasSecrets(spec.Mounts) {
		if specDir, err = ms.secretDir(); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(specDir, "config.json"), data, 0o600); err != nil {
		return fmt.Errorf("writing runtime spec: %w", err)
	}

	targets := make([]string, 0, len(cfg.Mounts))
	for _, m := range cfg.Mounts {
		targets = append(targets, m.Destination)
	}
	stubs := recordStubs(s.Merged, s.Upper, targets)
	runErr := w.runContainer(ctx, id, specDir, spec)
	dirs, stubErr := stubs.clean()
	s.addCopiedUp(dirs)
	if runErr != nil {
		return runErr
	}
	return stubErr
}

func hasSecrets(mounts []Mount) bool {
	for _, m := range mounts {
		if m.Type == MountSecret {
			return true
		}
	}
	return false
}

func validateSpec(spec RunSpec) error {
	if len(spec.Args) == 0 {
		return errors.New("run: no command given")
	}
	switch spec.Network {
	case "", NetworkDefault, NetworkNone, NetworkHost:
	default:
		return fmt.Errorf("unsupported network mode %q (want default, none or host)", spec.Network)
	}
	if spec.Cwd != "" && !path.IsAbs(spec.Cwd) {
		return fmt.Errorf("working directory %q is not absolute", spec.Cwd)
	}
	for _, m := range spec.Mounts {
		if err := validateMount(m); err != nil {
			return err
		}
	}
	return nil
}

// mkdirInRoot creates dir (absolute, inside the container) under rootfs,
// resolving symlinks inside rootfs.
func mkdirInRoot(rootfs, dir string) error {
	p, err := securejoin.SecureJoin(rootfs, dir)
	if err != nil {
		return fmt.Errorf("resolving working directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("creating working directory %s: %w", dir, err)
	}
	return nil
}

// runContainer runs the bundle in the foreground and maps the outcome.
func (w *Worker) runContainer(ctx context.Context, id, bundle string, spec RunSpec) error {
	logPath := filepath.Join(bundle, "runtime.log")
	var t tail
	outTail, errTail := t.stream(), t.stream()
	// One lock for both streams: callers often pass one writer for
	// both, and os/exec copies each stream on its own goroutine.
	var mu sync.Mutex
	cmd := w.rt.command(logPath, "run", "--bundle", bundle, id)
	cmd.Stdout = &lockedWriter{mu: &mu, w: spec.Stdout, tail: outTail}
	cmd.Stderr = &lockedWriter{mu: &mu, w: spec.Stderr, tail: errTail}
	if err := w.rt.start(cmd); err != nil {
		return fmt.Errorf("starting %s: %w", w.rt.kind, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var waitErr error
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		waitErr = w.kill(id, cmd, done)
	}
	delErr := w.rt.deleteContainer(id)
	if ctx.Err() != nil {
		return errors.Join(fmt.Errorf("running %q: %w", spec.Args, ctx.Err()), delErr)
	}
	if delErr != nil {
		return delErr
	}
	if waitErr == nil {
		return nil
	}
	var exitErr *exec.ExitError
	if !errors.As(waitErr, &exitErr) {
		return fmt.Errorf("running %s: %w", w.rt.kind, waitErr)
	}
	if msgs := logErrors(logPath); len(msgs) > 0 {
		return fmt.Errorf("running %q: %s: %s", spec.Args, w.rt.kind, strings.Join(msgs, "; "))
	}
	return &ExitError{Code: exitErr.ExitCode(), Args: spec.Args, Tail: t.result(outTail, errTail)}
}

// lockedWriter writes one output stream to the caller's writer (nil
// discards) and to the tail, under a lock shared with the other stream.
type lockedWriter struct {
	mu   *sync.Mutex
	w    io.Writer
	tail *tailStream
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tail.Write(p)
	if l.w != nil {
		// A failing caller writer must not kill the build's process:
		// its output is still kept in the tail.
		l.w.Write(p)
	}
	return len(p), nil
}

// kill stops a cancelled container: SIGKILL through the runtime until the
// foreground runtime process exits (the container may still be being
// created), and the runtime process itself if it never gets that far.
func (w *Worker) kill(id string, cmd *exec.Cmd, done <-chan error) error {
	for i := 0; ; i++ {
		w.rt.exec("kill", id, "KILL") // fails until the container exists
		if i == killGiveUp {
			cmd.Process.Kill()
		}
		select {
		case err := <-done:
			return err
		case <-time.After(killRetry):
		}
	}
}
