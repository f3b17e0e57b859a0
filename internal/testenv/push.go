package testenv

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushBusybox pushes BusyboxImage to reg as busybox:latest and returns its
// reference, "127.0.0.1:PORT/busybox:latest" (through TLSHost when the
// registry serves TLS).
func PushBusybox(t testing.TB, reg *Registry) string {
	t.Helper()
	ref := reg.Ref("busybox:latest")
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatalf("parsing %s: %v", ref, err)
	}
	err = remote.Write(tag, BusyboxImage(t),
		remote.WithContext(t.Context()),
		remote.WithAuthFromKeychain(reg.Keychain()),
		remote.WithTransport(reg.Transport()))
	if err != nil {
		t.Fatalf("pushing busybox to %s: %v", ref, err)
	}
	return ref
}
