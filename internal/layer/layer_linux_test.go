//go:build linux

package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/archive"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

func TestRoundTrip(t *testing.T) {
	f := makeUpper(t)
	for _, c := range []Compression{Gzip, Zstd, None} {
		t.Run(string(c), func(t *testing.T) {
			var blob bytes.Buffer
			d, err := Write(context.Background(), f.upper, &blob, Options{Compression: c})
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "applied")
			copyTree(t, f.lower, dst)
			if _, err := archive.Apply(context.Background(), dst, decompress(t, c, blob.Bytes())); err != nil {
				t.Fatalf("applying layer: %v", err)
			}
			got := tree(t, dst)
			if !reflect.DeepEqual(got, f.merged) {
				for k, v := range f.merged {
					if got[k] != v {
						t.Errorf("%s: got %q, want %q", k, got[k], v)
					}
				}
				for k := range got {
					if _, ok := f.merged[k]; !ok {
						t.Errorf("%s: present after apply, absent in merged view", k)
					}
				}
			}
			if d.UncompressedSize <= 0 || d.Size != int64(blob.Len()) {
				t.Errorf("descriptor sizes %+v, blob has %d bytes", d, blob.Len())
			}
		})
	}
}

func TestEntries(t *testing.T) {
	f := makeUpper(t)
	hdrs := readTar(t, f.upper, Options{Compression: None})
	byName := map[string]*tar.Header{}
	var names []string
	for _, h := range hdrs {
		byName[h.Name] = h
		names = append(names, h.Name)
		if h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: has user/group names %q/%q", h.Name, h.Uname, h.Gname)
		}
		if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: has atime/ctime", h.Name)
		}
		if h.ModTime.Nanosecond() != 0 {
			t.Errorf("%s: mtime %v is not whole seconds", h.Name, h.ModTime)
		}
		for k := range h.PAXRecords {
			if strings.Contains(k, "overlay") {
				t.Errorf("%s: leaks overlay xattr %s", h.Name, k)
			}
		}
	}
	long := strings.Repeat("long-name-", 12)
	tests := []struct {
		name     string
		typeflag byte
		mode     int64
		check    func(t *testing.T, h *tar.Header)
	}{
		{name: "etc/.wh.gone", typeflag: tar.TypeReg},
		{name: "etc/.wh.gone2", typeflag: tar.TypeReg},
		{name: "dir2/.wh.keep", typeflag: tar.TypeReg},
		{name: "dir1/", typeflag: tar.TypeDir, mode: 0o750},
		{name: "dir1/.wh..wh..opq", typeflag: tar.TypeReg},
		{name: "dir1/new", typeflag: tar.TypeReg, mode: 0o600},
		{name: "etc/conf", typeflag: tar.TypeReg, mode: 0o644, check: func(t *testing.T, h *tar.Header) {
			if h.Size != int64(len("new content")) {
				t.Errorf("size %d", h.Size)
			}
			// Plain entries need no PAX header.
			if h.Format != tar.FormatUSTAR {
				t.Errorf("format %v, want USTAR", h.Format)
			}
		}},
		{name: "newdir/a", typeflag: tar.TypeReg, check: func(t *testing.T, h *tar.Header) {
			if h.PAXRecords["SCHILY.xattr.user.foo"] != "bar" {
				t.Errorf("user.foo xattr missing: %v", h.PAXRecords)
			}
		}},
		{name: "newdir/b", typeflag: tar.TypeLink, check: func(t *testing.T, h *tar.Header) {
			if h.Linkname != "newdir/a" {
				t.Errorf("links to %q", h.Linkname)
			}
		}},
		{name: "newdir/link", typeflag: tar.TypeSymlink, check: func(t *testing.T, h *tar.Header) {
			if h.Linkname != "a" {
				t.Errorf("points to %q", h.Linkname)
			}
		}},
		{name: "newdir/suid", typeflag: tar.TypeReg, mode: 0o4755},
		{name: "newdir/sticky/", typeflag: tar.TypeDir, mode: 0o1777},
		{name: "newdir/setgid/", typeflag: tar.TypeDir, mode: 0o2755},
		{name: "newdir/fifo", typeflag: tar.TypeFifo, mode: 0o644},
		{name: "newdir/null", typeflag: tar.TypeChar, mode: 0o666, check: func(t *testing.T, h *tar.Header) {
			if h.Devmajor != 1 || h.Devminor != 3 {
				t.Errorf("device %d:%d", h.Devmajor, h.Devminor)
			}
		}},
		{name: "newdir/owned", typeflag: tar.TypeReg, check: func(t *testing.T, h *tar.Header) {
			if h.Uid != 1000 || h.Gid != 1001 {
				t.Errorf("owner %d:%d", h.Uid, h.Gid)
			}
			if h.PAXRecords["SCHILY.xattr.security.capability"] != string(capV2()) {
				t.Errorf("security.capability missing: %q", h.PAXRecords)
			}
		}},
		{name: "bin/tool", typeflag: tar.TypeReg, mode: 0o700},
		{name: "newdir/" + long + "/" + long, typeflag: tar.TypeReg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := byName[tt.name]
			if !ok {
				t.Fatalf("no entry; entries: %q", names)
			}
			if h.Typeflag != tt.typeflag {
				t.Errorf("type %q, want %q", h.Typeflag, tt.typeflag)
			}
			if tt.mode != 0 && h.Mode != tt.mode {
				t.Errorf("mode %o, want %o", h.Mode, tt.mode)
			}
			if tt.check != nil {
				tt.check(t, h)
			}
		})
	}
	t.Run("order", func(t *testing.T) {
		index := map[string]int{}
		for i, n := range names {
			if _, dup := index[n]; dup {
				t.Errorf("%s written twice", n)
			}
			index[n] = i
		}
		if !(index["dir1/"] < index["dir1/.wh..wh..opq"] && index["dir1/.wh..wh..opq"] < index["dir1/new"]) {
			t.Errorf("opaque marker not between its dir and the dir's new entries: %q", names)
		}
		if index["newdir/a"] > index["newdir/b"] {
			t.Errorf("hard link before its target: %q", names)
		}
	})
	t.Run("unchanged entries and sockets are absent", func(t *testing.T) {
		for _, n := range []string{"keepdir/", "keepdir/file", "dir2/stay", "dir2/stay-link", "newdir/sock"} {
			if _, ok := byName[n]; ok {
				t.Errorf("%s is in the layer but was not changed", n)
			}
		}
	})
}

func TestDeterministic(t *testing.T) {
	f := makeUpper(t)
	epoch := time.Unix(1700000000, 0)
	for _, c := range []Compression{Gzip, Zstd} {
		t.Run(string(c), func(t *testing.T) {
			opts := Options{Compression: c, SourceDateEpoch: &epoch}
			var a, b bytes.Buffer
			d1, err := Write(context.Background(), f.upper, &a, opts)
			must(t, err)
			// Newer mtimes must not change the result: they are clamped.
			now := time.Now()
			must(t, os.Chtimes(filepath.Join(f.upper, "etc/conf"), now, now))
			d2, err := Write(context.Background(), f.upper, &b, opts)
			must(t, err)
			if d1 != d2 || !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("two writes differ: %+v vs %+v", d1, d2)
			}
			for _, h := range readTar(t, f.upper, opts) {
				if h.ModTime.After(epoch) {
					t.Errorf("%s: mtime %v after SOURCE_DATE_EPOCH", h.Name, h.ModTime)
				}
			}
		})
	}
}

func TestToV1(t *testing.T) {
	f := makeUpper(t)
	tests := []struct {
		c    Compression
		want types.MediaType
	}{
		{Gzip, types.OCILayer},
		{Zstd, types.OCILayerZStd},
		{None, types.OCIUncompressedLayer},
	}
	for _, tt := range tests {
		t.Run(string(tt.c), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "blob")
			d, err := WriteFile(context.Background(), f.upper, p, Options{Compression: tt.c})
			must(t, err)
			if d.MediaType != tt.want {
				t.Errorf("media type %s, want %s", d.MediaType, tt.want)
			}
			if tt.c == None && d.Digest != d.DiffID {
				t.Errorf("uncompressed digest %v != diff_id %v", d.Digest, d.DiffID)
			}
			l, err := ToV1(d, p)
			must(t, err)
			checkLayer(t, l, tt.c)
			size, err := partial.UncompressedSize(l)
			must(t, err)
			if size != d.UncompressedSize {
				t.Errorf("UncompressedSize %d, want %d", size, d.UncompressedSize)
			}
			data, err := os.ReadFile(p)
			must(t, err)
			sum := sha256.Sum256(data)
			if d.Digest.Hex != hex.EncodeToString(sum[:]) || d.Size != int64(len(data)) {
				t.Errorf("file does not match descriptor %+v", d)
			}
			entries, _ := os.ReadDir(filepath.Dir(p))
			if len(entries) != 1 {
				t.Errorf("temporary files left: %v", entries)
			}
		})
	}
	t.Run("size mismatch", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "blob")
		d, err := WriteFile(context.Background(), f.upper, p, Options{})
		must(t, err)
		d.Size++
		if _, err := ToV1(d, p); err == nil {
			t.Fatal("ToV1 accepted a descriptor that does not match the file")
		}
	})
}

func TestIsEmpty(t *testing.T) {
	dir := t.TempDir()
	empty, err := IsEmpty(dir)
	must(t, err)
	if !empty {
		t.Fatal("new dir is not empty")
	}
	must(t, os.WriteFile(filepath.Join(dir, "f"), nil, 0o644))
	empty, err = IsEmpty(dir)
	must(t, err)
	if empty {
		t.Fatal("dir with a file is empty")
	}
	if _, err := IsEmpty(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing dir gave no error")
	}
}

func TestErrors(t *testing.T) {
	requireOverlay(t) // trusted.* xattrs need root
	redirected := t.TempDir()
	must(t, os.Mkdir(filepath.Join(redirected, "moved"), 0o755))
	must(t, unix.Lsetxattr(filepath.Join(redirected, "moved"), "trusted.overlay.redirect", []byte("/orig"), 0))
	tests := []struct {
		name  string
		dir   string
		opts  Options
		match string
	}{
		{"unknown compression", t.TempDir(), Options{Compression: "lz4"}, "unsupported layer compression"},
		{"gzip level", t.TempDir(), Options{Level: 12}, "gzip level"},
		{"zstd level", t.TempDir(), Options{Compression: Zstd, Level: 30}, "zstd level"},
		{"level without compression", t.TempDir(), Options{Compression: None, Level: 3}, "no compression"},
		{"missing dir", filepath.Join(t.TempDir(), "nope"), Options{}, "upper dir"},
		{"redirect_dir", redirected, Options{}, "redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Write(context.Background(), tt.dir, io.Discard, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.match) {
				t.Fatalf("error %v, want one containing %q", err, tt.match)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		f := makeUpper(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Write(ctx, f.upper, io.Discard, Options{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	})
	t.Run("failing writer", func(t *testing.T) {
		f := makeUpper(t)
		_, err := Write(context.Background(), f.upper, failWriter{}, Options{Compression: None})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("error %v, want the writer's error", err)
		}
	})
}

// checkLayer verifies l's digest, diff_id and sizes against its streams:
// with ggcr's validate.Layer for gzip, which is all it can decompress, and
// by hashing both streams for the other compressions.
func checkLayer(t *testing.T, l v1.Layer, c Compression) {
	t.Helper()
	if c == Gzip {
		if err := validate.Layer(l); err != nil {
			t.Fatalf("validate.Layer: %v", err)
		}
		return
	}
	hashOf := func(open func() (io.ReadCloser, error)) (v1.Hash, int64) {
		rc, err := open()
		must(t, err)
		defer rc.Close()
		h, n, err := v1.SHA256(rc)
		must(t, err)
		return h, n
	}
	digest, size := hashOf(l.Compressed)
	diffID, _ := hashOf(l.Uncompressed)
	wantDigest, err := l.Digest()
	must(t, err)
	wantDiffID, err := l.DiffID()
	must(t, err)
	wantSize, err := l.Size()
	must(t, err)
	if digest != wantDigest || diffID != wantDiffID || size != wantSize {
		t.Fatalf("layer reports digest %v diff_id %v size %d; streams give %v %v %d", wantDigest, wantDiffID, wantSize, digest, diffID, size)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func readTar(t *testing.T, upper string, opts Options) []*tar.Header {
	t.Helper()
	var blob bytes.Buffer
	if _, err := Write(context.Background(), upper, &blob, opts); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(decompress(t, opts.Compression, blob.Bytes()))
	var out []*tar.Header
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		must(t, err)
		out = append(out, h)
	}
}

func decompress(t testing.TB, c Compression, data []byte) io.Reader {
	t.Helper()
	switch c {
	case "", Gzip:
		r, err := gzip.NewReader(bytes.NewReader(data))
		must(t, err)
		return r
	case Zstd:
		r, err := zstd.NewReader(bytes.NewReader(data))
		must(t, err)
		t.Cleanup(r.Close)
		return r
	}
	return bytes.NewReader(data)
}
