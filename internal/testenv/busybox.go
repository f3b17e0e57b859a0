package testenv

import (
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/zbuild/zbuild/internal/testenv/busybox"
)

// BusyboxRootfs writes a fresh busybox root file system into a temp dir of
// t and returns it: /bin/busybox with applet symlinks, /etc/passwd and
// /etc/group with root, nobody and app (uid/gid 1000), /tmp 1777. Each call
// gets its own copy, so tests may change it.
func BusyboxRootfs(t testing.TB) string {
	t.Helper()
	RequiresBinary(t, busybox.BinaryPath)
	dir := t.TempDir()
	if err := busybox.WriteRootfs(dir); err != nil {
		t.Fatalf("writing busybox rootfs: %v", err)
	}
	return dir
}

var busyboxImage struct {
	once sync.Once
	img  v1.Image
	err  error
}

// BusyboxImage returns the busybox OCI image (one gzip layer, linux config
// for the host architecture with PATH and Cmd ["sh"], fixed times), built
// once per test process. Images are immutable values, so sharing it is safe.
func BusyboxImage(t testing.TB) v1.Image {
	t.Helper()
	RequiresBinary(t, busybox.BinaryPath)
	busyboxImage.once.Do(func() {
		img, err := busybox.Image()
		if err == nil {
			// Compute the lazily derived manifest now, once, rather than
			// concurrently in the tests that share the image.
			_, err = img.Manifest()
		}
		busyboxImage.img, busyboxImage.err = img, err
	})
	if busyboxImage.err != nil {
		t.Fatalf("building busybox image: %v", busyboxImage.err)
	}
	return busyboxImage.img
}
