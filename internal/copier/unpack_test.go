//go:build linux

package copier

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

var tarTime = time.Date(2005, 6, 7, 8, 9, 10, 0, time.UTC)

// testTar is an archive with the entries ADD has to handle, escape
// attempts included.
func testTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, data string) {
		h.ModTime = tarTime
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o700}, "")
	add(&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 1000, Gid: 1000}, "")
	add(&tar.Header{Name: "dir/file", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1000, Gid: 1001, PAXRecords: map[string]string{"SCHILY.xattr.user.note": "hi"}}, "content")
	add(&tar.Header{Name: "implied/parent/f", Typeflag: tar.TypeReg, Mode: 0o644}, "deep")
	add(&tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "dir/file"}, "")
	add(&tar.Header{Name: "etclink", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, "")
	// Through the symlink: lands in the extraction dir's etc, not the host's.
	add(&tar.Header{Name: "etclink/zbuild-test-passwd", Typeflag: tar.TypeReg, Mode: 0o644}, "pwned")
	add(&tar.Header{Name: "../../../zbuild-escape", Typeflag: tar.TypeReg, Mode: 0o644}, "clamped")
	add(&tar.Header{Name: "/abs", Typeflag: tar.TypeReg, Mode: 0o644}, "abs")
	add(&tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../../../.."}, "")
	add(&tar.Header{Name: "up/zbuild-up", Typeflag: tar.TypeReg, Mode: 0o644}, "up")
	add(&tar.Header{Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o600}, "")
	add(&tar.Header{Name: ".wh.gone", Typeflag: tar.TypeReg, Mode: 0o644}, "")
	add(&tar.Header{Name: "replaced", Typeflag: tar.TypeReg, Mode: 0o644}, "new")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compress(t *testing.T, kind string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch kind {
	case "plain":
		return data
	case "gzip":
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		zw.Close()
	case "xz":
		zw, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(data)
		zw.Close()
	case "zstd":
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(data)
		zw.Close()
	case "bzip2":
		// The standard library only reads bzip2.
		if _, err := exec.LookPath("bzip2"); err != nil {
			t.Skip("bzip2 not installed: needed to make a .tar.bz2 fixture")
		}
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	return buf.Bytes()
}

func TestUnpack(t *testing.T) {
	requireRoot(t)
	tarData := testTar(t)
	for _, kind := range []string{"plain", "gzip", "bzip2", "xz", "zstd"} {
		t.Run(kind, func(t *testing.T) {
			base := t.TempDir()
			src, dst := filepath.Join(base, "src"), filepath.Join(base, "dst")
			build(t, src, dirn(".", 0o755))
			build(t, dst, file("x/replaced", "old", 0o600), dirn("x/dir", 0o777).owned(5, 5), file("x/dir/keep", "keep", 0o600))
			// The name says nothing: detection is by content.
			if err := os.WriteFile(filepath.Join(src, "archive.bin"), compress(t, kind, tarData), 0o644); err != nil {
				t.Fatal(err)
			}
			st, err := Copy(context.Background(), Request{SrcRoot: src, DestRoot: dst, Sources: []string{"archive.bin"}, Dest: "/x", Unpack: true})
			if err != nil {
				t.Fatal(err)
			}
			checkTree(t, dst, map[string]string{
				"x":                        "d 0755 0:0",
				"x/dir":                    "d 0750 1000:1000",
				"x/dir/keep":               "f 0600 0:0 keep",
				"x/dir/file":               "f 0640 1000:1001 content",
				"x/hard":                   "f 0640 1000:1001 content",
				"x/implied":                "d 0755 0:0",
				"x/implied/parent/f":       "f 0644 0:0 deep",
				"x/etclink":                "l /etc",
				"x/etc/zbuild-test-passwd": "f 0644 0:0 pwned",
				"x/zbuild-escape":          "f 0644 0:0 clamped",
				"x/abs":                    "f 0644 0:0 abs",
				"x/up":                     "l ../../../../..",
				"x/zbuild-up":              "f 0644 0:0 up",
				"x/fifo":                   "p 0600 0:0",
				"x/.wh.gone":               "f 0644 0:0 ",
				"x/replaced":               "f 0644 0:0 new",
			}, false)
			if !sameFile(t, filepath.Join(dst, "x/hard"), filepath.Join(dst, "x/dir/file")) {
				t.Error("hard link entry is not a hard link")
			}
			for _, p := range []string{"/etc/zbuild-test-passwd", "/zbuild-escape", "/zbuild-up", filepath.Join(base, "zbuild-escape"), filepath.Join(dst, "zbuild-escape")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written outside the extraction directory", p)
				}
			}
			if got := mtimeOf(t, filepath.Join(dst, "x/dir")); !got.Equal(tarTime) {
				t.Errorf("x/dir mtime %v, want %v", got, tarTime)
			}
			if st.Files != 12 || st.Bytes != int64(len("content")+len("deep")+len("pwned")+len("clamped")+len("abs")+len("up")+len("new")) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestUnpackVariants(t *testing.T) {
	tarData := testTar(t)
	epoch := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	gz := compress(t, "gzip", tarData)
	runCases(t, []copyCase{
		{
			name: "Owner overrides the archive's owners but not implied parents",
			src:  []node{file("a.tgz", string(gz), 0o644)},
			req:  Request{Sources: []string{"a.tgz"}, Dest: "/x/", Unpack: true, Owner: &Owner{UID: 7, GID: 8}},
			want: map[string]string{"x": "d 0755 7:8", "x/dir/file": "f 0640 7:8 content", "x/implied": "d 0755 0:0", "x/implied/parent/f": "f 0644 7:8 deep"},
		},
		{
			name: "without Unpack an archive is a file",
			src:  []node{file("a.tgz", string(gz), 0o644)},
			req:  Request{Sources: []string{"a.tgz"}, Dest: "/x/"},
			want: map[string]string{"x": "d 0755 0:0", "x/a.tgz": "f 0644 0:0 " + string(gz)},
			all:  true,
		},
		{
			name: "a file that is not an archive is copied",
			src:  []node{file("notar.tar.gz", "plain text", 0o644), file("fake.gz", "\x1f\x8b\x08garbage", 0o644)},
			req:  Request{Sources: []string{"notar.tar.gz", "fake.gz"}, Dest: "/x/", Unpack: true},
			want: map[string]string{"x": "d 0755 0:0", "x/notar.tar.gz": "f 0644 0:0 plain text", "x/fake.gz": "f 0644 0:0 \x1f\x8b\x08garbage"},
			all:  true,
		},
		{
			name: "an empty file is not an archive",
			src:  []node{file("empty.tar", "", 0o644)},
			req:  Request{Sources: []string{"empty.tar"}, Dest: "/x/", Unpack: true},
			want: map[string]string{"x": "d 0755 0:0", "x/empty.tar": "f 0644 0:0 "},
			all:  true,
		},
		{
			name:   "glob matches are unpacked one by one",
			src:    []node{file("a.tgz", string(gz), 0o644), file("b.txt", "B", 0o644)},
			req:    Request{Sources: []string{"*"}, Dest: "/x/", Unpack: true},
			want:   map[string]string{"x/b.txt": "f 0644 0:0 B", "x/dir/file": "f 0640 1000:1001 content"},
			absent: []string{"x/a.tgz"},
		},
		{
			name: "archives inside a copied directory are not unpacked",
			src:  []node{file("d/a.tgz", string(gz), 0o644)},
			req:  Request{Sources: []string{"d"}, Dest: "/x/", Unpack: true},
			want: map[string]string{"x": "d 0755 0:0", "x/a.tgz": "f 0644 0:0 " + string(gz)},
			all:  true,
		},
		{
			name: "an archive to a path without slash is extracted into it",
			src:  []node{file("a.tgz", string(gz), 0o644)},
			req:  Request{Sources: []string{"a.tgz"}, Dest: "/newdir", Unpack: true},
			want: map[string]string{"newdir": "d 0755 0:0", "newdir/abs": "f 0644 0:0 abs"},
		},
		{
			name: "an archive cannot be extracted into a file",
			src:  []node{file("a.tgz", string(gz), 0o644)},
			dst:  []node{file("f", "F", 0o644)},
			req:  Request{Sources: []string{"a.tgz"}, Dest: "/f", Unpack: true},
			err:  ErrNotDir,
		},
		{
			name: "ModTime clamps archive times",
			src:  []node{file("a.tgz", string(gz), 0o644)},
			req:  Request{Sources: []string{"a.tgz"}, Dest: "/x/", Unpack: true, ModTime: &epoch},
			want: map[string]string{"x/abs": "f 0644 0:0 abs"},
		},
		{
			name: "ModTime later than the archive keeps its times",
			src:  []node{file("a.tgz", string(gz), 0o644)},
			req:  Request{Sources: []string{"a.tgz"}, Dest: "/x/", Unpack: true, ModTime: &later},
			want: map[string]string{"x/abs": "f 0644 0:0 abs"},
		},
	})
}

func TestUnpackDamagedArchive(t *testing.T) {
	requireRoot(t)
	data := testTar(t)
	// A valid first header makes it an archive; the damage comes later.
	damaged := append([]byte{}, data[:2048]...)
	damaged = append(damaged, bytes.Repeat([]byte{0xff}, 1024)...)
	src, dst := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "bad.tar"), damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Copy(context.Background(), Request{SrcRoot: src, DestRoot: dst, Sources: []string{"bad.tar"}, Dest: "/x/", Unpack: true})
	if err == nil {
		t.Fatal("extracting a damaged archive succeeded")
	}
}

func TestUnpackHardLinkOutside(t *testing.T) {
	requireRoot(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "evil", Typeflag: tar.TypeLink, Linkname: "../../../../../etc/passwd"}); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	src, dst := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a.tar"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat("/etc/passwd")
	if err != nil {
		t.Skip("no /etc/passwd on this host to guard")
	}
	_, err = Copy(context.Background(), Request{SrcRoot: src, DestRoot: dst, Sources: []string{"a.tar"}, Dest: "/x/", Unpack: true})
	if err == nil {
		t.Fatal("a hard link to a path missing inside the destination was extracted")
	}
	after, _ := os.Stat("/etc/passwd")
	if after.Sys().(*syscall.Stat_t).Nlink != before.Sys().(*syscall.Stat_t).Nlink {
		t.Fatal("the host's /etc/passwd got a new link")
	}
}
