package build_test

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv"
	"github.com/zbuild/zbuild/progress"
)

// base is the name under which tests find the busybox image in their store.
const base = "localhost/busybox:latest"

// requireBuild skips unless this host can run the native engine.
func requireBuild(t *testing.T) {
	t.Helper()
	testenv.RequiresRoot(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("Debian's busybox-static is not installed (/bin/busybox): apt-get install busybox-static")
	}
	if testing.Short() {
		t.Skip("end-to-end build test skipped in -short mode")
	}
}

// newRoot makes a store holding the busybox base image as localhost/busybox.
func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutImage(context.Background(), testenv.BusyboxImage(t), base); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { checkNoMounts(t, root) })
	return root
}

// writeContext writes files (path → content) into a new context dir.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []progress.Event
}

func (r *recorder) Emit(e progress.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		if e.Kind == progress.StepOutput {
			b.WriteString(e.Line + "\n")
		}
	}
	return b.String()
}

func (r *recorder) kinds(k progress.Kind) []progress.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []progress.Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// buildIn builds opts (ContextDir and Root must be set) and validates the image.
func buildIn(t *testing.T, opts build.Options) (*build.Result, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts.Progress = rec
	res, err := build.Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("build failed: %v\noutput:\n%s", err, rec.output())
	}
	if err := validate.Image(res.Image); err != nil {
		t.Fatalf("built image is invalid: %v", err)
	}
	return res, rec
}

// fileInfo is what a test checks of one file of the flattened image.
type fileInfo struct {
	typ      byte
	mode     int64
	uid, gid int
	data     string
	link     string
}

// files flattens img (whiteouts applied) into path → info.
func files(t *testing.T, img v1.Image) map[string]fileInfo {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]fileInfo{}
	tr := tar.NewReader(bufio.NewReader(rc))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fi := fileInfo{typ: h.Typeflag, mode: h.Mode & 0o7777, uid: h.Uid, gid: h.Gid, link: h.Linkname}
		if h.Typeflag == tar.TypeReg && h.Size < 1<<20 {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			fi.data = string(data)
		}
		out["/"+strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = fi
	}
	return out
}

// layerEntries lists the tar entry names of the image's layer i.
func layerEntries(t *testing.T, img v1.Image, i int) []string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[i].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var names []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

// checkNoMounts fails when anything under root is still mounted.
func checkNoMounts(t *testing.T, root string) {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], root) {
			t.Errorf("mount left behind: %s", f[4])
		}
	}
}
