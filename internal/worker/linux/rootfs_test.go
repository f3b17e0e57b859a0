//go:build linux

package linux

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// busyboxPath is Debian's busybox-static; the tests' root file system is
// that one static binary plus applet links.
const busyboxPath = "/bin/busybox"

var (
	rootfsOnce sync.Once
	rootfsDir  string
	rootfsErr  error
	tmpRoot    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tmpRoot != "" {
		os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}

// requireRoot skips tests that mount file systems or run containers.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts overlayfs and runs containers")
	}
}

// busyboxRootfs returns a shared, read-only root file system: /bin with
// busybox and its applets, /etc/passwd and /etc/group with root and app
// (1000:1000, home /home/app), /root, /tmp. It has no /proc, /dev, /sys or
// /etc/hosts, so every runtime mount point is a stub to clean up. Tests
// use it only as a lower dir.
func busyboxRootfs(t testing.TB) string {
	t.Helper()
	requireRoot(t)
	if _, err := os.Stat(busyboxPath); err != nil {
		t.Skipf("needs a static busybox at %s (apt-get install busybox-static)", busyboxPath)
	}
	rootfsOnce.Do(func() { rootfsDir, rootfsErr = makeBusyboxRootfs() })
	if rootfsErr != nil {
		t.Fatalf("making busybox rootfs: %v", rootfsErr)
	}
	return rootfsDir
}

func makeBusyboxRootfs() (string, error) {
	var err error
	// Under /tmp rather than a test's TempDir: shared by all tests, and
	// on the same file system as the workers' roots (t.TempDir too).
	if tmpRoot, err = os.MkdirTemp("", "zbuild-worker-test-"); err != nil {
		return "", err
	}
	root := filepath.Join(tmpRoot, "rootfs")
	for _, d := range []string{"bin", "etc", "root", "home/app", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky); err != nil {
		return "", err
	}
	if err := os.Chown(filepath.Join(root, "home/app"), 1000, 1000); err != nil {
		return "", err
	}
	data, err := os.ReadFile(busyboxPath)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		return "", err
	}
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return "", err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			return "", err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\nstaff:x:50:app\napp:x:1000:\n",
	}
	for p, content := range files {
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	return root, nil
}
