//go:build linux

package linux

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// hostCheck records a host check that passed, so later processes using
// the same worker root skip it: mounting a test overlay and running the
// runtime's --version cost more than a whole cached build. It is redone
// when the kernel or the runtime binary changes.
type hostCheck struct {
	Kernel      string `json:"kernel"`
	RuntimePath string `json:"runtimePath"`
	RuntimeSize int64  `json:"runtimeSize"`
	RuntimeTime int64  `json:"runtimeMtime"`
	Kind        string `json:"kind"`
	Version     string `json:"version"`
}

func hostCheckPath(root string) string { return filepath.Join(root, "host-check.json") }

// currentHost describes the kernel and the runtime binary that would be
// used (want is WithRuntime's value); ok is false when either is unknown.
func currentHost(want string) (hostCheck, bool) {
	var uts unix.Utsname
	if unix.Uname(&uts) != nil {
		return hostCheck{}, false
	}
	h := hostCheck{Kernel: unix.ByteSliceToString(uts.Release[:])}
	candidates := []string{"crun", "runc"}
	if want != "" {
		candidates = []string{want}
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			h.RuntimePath = p
			break
		}
	}
	if h.RuntimePath == "" {
		return hostCheck{}, false
	}
	fi, err := os.Stat(h.RuntimePath)
	if err != nil {
		return hostCheck{}, false
	}
	h.RuntimeSize, h.RuntimeTime = fi.Size(), fi.ModTime().UnixNano()
	return h, true
}

// cachedRuntime returns the runtime a previous check found, when the
// kernel and runtime binary are still the same.
func cachedRuntime(root, want string) (*ociRuntime, bool) {
	cur, ok := currentHost(want)
	if !ok {
		return nil, false
	}
	data, err := os.ReadFile(hostCheckPath(root))
	if err != nil {
		return nil, false
	}
	var old hostCheck
	if json.Unmarshal(data, &old) != nil {
		return nil, false
	}
	if old.Kernel != cur.Kernel || old.RuntimePath != cur.RuntimePath || old.RuntimeSize != cur.RuntimeSize || old.RuntimeTime != cur.RuntimeTime {
		return nil, false
	}
	rt := &ociRuntime{kind: old.Kind, path: old.RuntimePath, version: old.Version, stateDir: filepath.Join(root, "runtime")}
	rt.hideUnified = rt.kind == "crun" && hybridCgroups()
	return rt, true
}

// saveHostCheck records that the checks passed with rt (best effort: a
// failure only means the next process checks again).
func saveHostCheck(root, want string, rt *ociRuntime) {
	cur, ok := currentHost(want)
	if !ok || cur.RuntimePath != rt.path {
		return
	}
	cur.Kind, cur.Version = rt.kind, rt.version
	data, err := json.Marshal(cur)
	if err != nil {
		return
	}
	tmp := hostCheckPath(root) + ".tmp"
	if os.WriteFile(tmp, data, 0o600) == nil {
		os.Rename(tmp, hostCheckPath(root))
	}
}
