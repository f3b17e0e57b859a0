//go:build linux

package linux

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// ociRuntime invokes crun or runc with its state under stateDir.
type ociRuntime struct {
	kind     string // "crun" or "runc"
	path     string
	version  string
	stateDir string
	// hideUnified runs every invocation in a private mount namespace
	// without /sys/fs/cgroup/unified; see doc.go.
	hideUnified bool
}

// unifiedMount is where hybrid cgroup hosts mount the cgroup v2 tree.
const unifiedMount = "/sys/fs/cgroup/unified"

// findRuntime resolves the runtime binary: the given path or name, else
// crun, else runc from PATH.
func findRuntime(want, stateDir string) (*ociRuntime, error) {
	candidates := []string{"crun", "runc"}
	if want != "" {
		candidates = []string{want}
	}
	var path string
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if want != "" {
			return nil, fmt.Errorf("%w: OCI runtime %q not found", ErrHost, want)
		}
		return nil, fmt.Errorf("%w: no OCI runtime found in PATH: install crun or runc (apt-get install crun)", ErrHost)
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%w: running %s --version: %v", ErrHost, path, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	fields := strings.Fields(first) // "crun version 1.8.1", "runc version 1.1.5+ds1"
	if len(fields) < 3 || fields[1] != "version" || (fields[0] != "crun" && fields[0] != "runc") {
		return nil, fmt.Errorf("%w: %s is not crun or runc (it printed %q); only those runtimes are supported", ErrHost, path, first)
	}
	rt := &ociRuntime{kind: fields[0], path: path, version: fields[2], stateDir: stateDir}
	rt.hideUnified = rt.kind == "crun" && hybridCgroups()
	return rt, nil
}

func (r *ociRuntime) String() string { return r.kind + " " + r.version }

// hybridCgroups reports a cgroup v1 host that also mounts the v2 tree at
// /sys/fs/cgroup/unified, a layout crun refuses when v2 has controllers.
func hybridCgroups() bool {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) != nil || st.Type != unix.TMPFS_MAGIC {
		return false
	}
	return unix.Statfs(unifiedMount, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// command builds an invocation; logPath, when set, receives the runtime's
// own messages as JSON lines.
func (r *ociRuntime) command(logPath string, args ...string) *exec.Cmd {
	global := []string{"--root", r.stateDir}
	if logPath != "" {
		logArg := logPath
		if r.kind == "crun" {
			logArg = "file:" + logPath
		}
		global = append(global, "--log", logArg, "--log-format", "json")
	}
	return exec.Command(r.path, append(global, args...)...)
}

// start starts cmd; for crun on a hybrid cgroup host it starts it from a
// thread that has its own mount namespace without the cgroup v2 mount, so
// crun sees a plain cgroup v1 host. No helper process is involved.
func (r *ociRuntime) start(cmd *exec.Cmd) error {
	if !r.hideUnified {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// Go never ends the main thread, and /proc/self shows its
			// namespaces: keep it locked here, untouched, while a
			// goroutine on another thread does the work.
			done := make(chan struct{})
			go func() {
				startHidingUnified(cmd, errc)
				close(done)
			}()
			<-done
			runtime.UnlockOSThread()
			return
		}
		startHidingUnified(cmd, errc)
	}()
	return <-errc
}

// startHidingUnified must run on a goroutine that exits right after: it
// locks its thread and never unlocks it, so Go ends the thread instead of
// running other goroutines in the changed mount namespace, and Go creates
// new threads from a clean template thread, never from a locked one.
func startHidingUnified(cmd *exec.Cmd, errc chan<- error) {
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		errc <- fmt.Errorf("creating a mount namespace for crun: %w", err)
		return
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		errc <- fmt.Errorf("making crun's mount namespace private: %w", err)
		return
	}
	if err := unix.Unmount(unifiedMount, unix.MNT_DETACH); err != nil {
		errc <- fmt.Errorf("hiding %s from crun: %w", unifiedMount, err)
		return
	}
	errc <- cmd.Start()
}

// exec runs a short runtime command (kill, delete) and returns its error
// with the runtime's output.
func (r *ociRuntime) exec(args ...string) error {
	cmd := r.command("", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := r.start(cmd); err != nil {
		return fmt.Errorf("%s %s: %w", r.kind, args[0], err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", r.kind, args[0], err, strings.TrimSpace(out.String()))
	}
	return nil
}

// hasState reports whether the runtime still keeps state for id.
func (r *ociRuntime) hasState(id string) bool {
	_, err := os.Lstat(filepath.Join(r.stateDir, id))
	return err == nil
}

// deleteContainer force-deletes id (killing what is left of it) when the
// runtime still has state for it; `run` normally deletes on exit, and the
// check saves a process start per step.
func (r *ociRuntime) deleteContainer(id string) error {
	if !r.hasState(id) {
		return nil
	}
	if err := r.exec("delete", "--force", id); err != nil && r.hasState(id) {
		return fmt.Errorf("deleting container %s: %w", id, err)
	}
	return nil
}

// logErrors returns the error messages the runtime logged, oldest first.
func logErrors(logPath string) []string {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return nil
	}
	var msgs []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var entry struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal(line, &entry); err != nil {
			continue
		}
		switch entry.Level {
		case "error", "fatal", "panic":
			msgs = append(msgs, entry.Msg)
		}
	}
	return msgs
}
