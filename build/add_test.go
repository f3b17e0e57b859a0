package build_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/internal/output"
	"github.com/zbuild/zbuild/internal/testenv"
)

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o640, Size: int64(len(data)), Typeflag: tar.TypeReg, Uid: 7, Gid: 8})
		tw.Write([]byte(data))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestBuildAddArchivesAndURLs(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	payload := "downloaded\n"
	sum := sha256.Sum256([]byte(payload))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(payload))
	}))
	defer srv.Close()
	ctx := writeContext(t, map[string]string{
		"Dockerfile": "FROM " + base + "\n" +
			"ADD app.tar.gz /opt/\n" +
			"ADD --checksum=sha256:" + hex.EncodeToString(sum[:]) + " " + srv.URL + "/files/tool.txt /dl/\n" +
			"ADD --unpack=false app.tar.gz /keep/\n",
	})
	os.WriteFile(filepath.Join(ctx, "app.tar.gz"), tarGz(t, map[string]string{"app/bin.sh": "#!/bin/sh\n"}), 0o644)
	res, _ := buildIn(t, build.Options{ContextDir: ctx, Root: root})
	fs := files(t, res.Image)
	if f := fs["/opt/app/bin.sh"]; f.data != "#!/bin/sh\n" || f.mode != 0o640 || f.uid != 7 {
		t.Errorf("extracted archive entry: %+v", f)
	}
	if fs["/dl/tool.txt"].data != payload {
		t.Errorf("downloaded file: %q", fs["/dl/tool.txt"].data)
	}
	if _, ok := fs["/keep/app.tar.gz"]; !ok {
		t.Error("ADD --unpack=false extracted the archive")
	}
	// A wrong checksum fails the build and names both digests.
	bad := writeContext(t, map[string]string{"Dockerfile": "FROM " + base + "\nADD --checksum=sha256:" + strings.Repeat("0", 64) + " " + srv.URL + "/x /x\n"})
	_, err := build.Run(context.Background(), build.Options{ContextDir: bad, Root: root})
	if err == nil || !strings.Contains(err.Error(), hex.EncodeToString(sum[:])) {
		t.Fatalf("wrong checksum: %v", err)
	}
}

func TestBuildBindMountsAndOCILayoutBase(t *testing.T) {
	requireBuild(t)
	root := newRoot(t)
	layoutDir := filepath.Join(t.TempDir(), "layout")
	if err := output.OCILayoutDir(context.Background(), testenv.BusyboxImage(t), layoutDir, "bb"); err != nil {
		t.Fatal(err)
	}
	ctx := writeContext(t, map[string]string{
		"Dockerfile": "FROM oci-layout://" + layoutDir + ":bb AS tools\nRUN echo from-stage > /marker\n" +
			"FROM " + base + "\n" +
			"RUN --mount=type=bind,source=src,target=/mnt/src cat /mnt/src/in.txt > /from-context\n" +
			"RUN --mount=type=bind,from=tools,source=/marker,target=/m cp /m /from-stage\n" +
			"RUN --mount=type=bind,source=src,target=/mnt/src,rw touch /mnt/src/scratch && ls /mnt/src > /listing\n",
		"src/in.txt": "context data\n",
	})
	res, _ := buildIn(t, build.Options{ContextDir: ctx, Root: root})
	fs := files(t, res.Image)
	if fs["/from-context"].data != "context data\n" || fs["/from-stage"].data != "from-stage\n" {
		t.Errorf("bind mounts: %q %q", fs["/from-context"].data, fs["/from-stage"].data)
	}
	if !strings.Contains(fs["/listing"].data, "scratch") {
		t.Errorf("rw bind mount was not writable: %q", fs["/listing"].data)
	}
	if _, err := os.Stat(filepath.Join(ctx, "src", "scratch")); err == nil {
		t.Error("a write to an rw bind mount reached the build context")
	}
	for p := range fs {
		if strings.HasPrefix(p, "/mnt/src/") {
			t.Errorf("bind mount content %s leaked into the image", p)
		}
	}
}
