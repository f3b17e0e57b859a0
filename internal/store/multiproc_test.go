package store

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/zbuild/zbuild/internal/testenv"
)

// helperEnv names the store root a re-executed test binary works on.
const helperEnv = "ZBUILD_STORE_HELPER_ROOT"

// TestHelperProcess is not a test: TestTwoProcesses runs the test binary
// again with only this function selected, as a second process using the
// same store.
func TestHelperProcess(t *testing.T) {
	root := os.Getenv(helperEnv)
	if root == "" {
		t.Skip("helper process for TestTwoProcesses")
	}
	ctx := context.Background()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	shared := testenv.BusyboxImage(t)
	for i := range 5 {
		own, err := random.Image(256, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutImage(ctx, own, fmt.Sprintf("proc%d:%d", os.Getpid(), i)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutImage(ctx, shared, "shared:latest"); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		layers, err := shared.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Unpack(ctx, layers[0]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTwoProcesses runs two processes that put images and unpack the same
// layer into one store at the same time.
func TestTwoProcesses(t *testing.T) {
	testenv.RequiresBinary(t, "/bin/busybox")
	root := t.TempDir()
	const procs = 2
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+root)
		cmds[i] = cmd
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	}
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 5 own images per process plus the shared one.
	if len(list) != procs*5+1 {
		t.Fatalf("store has %d images, want %d", len(list), procs*5+1)
	}
	for _, info := range list {
		img, _, err := s.Image(ctx, info.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		mustValidate(t, img)
	}
	if os.Geteuid() == 0 {
		layers, _ := os.ReadDir(filepath.Join(root, dirLayers))
		links, _ := os.ReadDir(filepath.Join(root, dirLinks))
		if len(layers) != 1 || len(links) != 1 {
			t.Fatalf("%d unpacked layers and %d links, want 1 each", len(layers), len(links))
		}
	}
	assertNoPartial(t, s)
}
