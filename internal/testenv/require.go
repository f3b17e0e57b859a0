package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequiresRoot skips the test unless it runs as root (mounts, mknod,
// trusted.* xattrs, OCI runtimes). CI runs as root, so there it never skips.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (mounts, device nodes, trusted.* xattrs); run the tests as root")
	}
}

// RequiresBinary skips the test unless the program name (a name looked up
// in PATH, or a path) exists, and returns its path.
func RequiresBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("skipping: needs %s (%v); .ci installs it with apt-get", name, err)
	}
	return p
}
