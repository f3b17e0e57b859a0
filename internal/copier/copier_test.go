//go:build linux

package copier

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/patternmatcher"

	"github.com/zbuild/zbuild/plan"
)

// copyCase is one COPY/ADD behaviour: a source tree, an existing
// destination tree, the request, and what the destination must hold after.
type copyCase struct {
	name   string
	src    []node
	dst    []node
	req    Request // SrcRoot and DestRoot are filled in
	ignore []string
	// want maps destination paths to describe() strings; with all, nothing
	// else may exist in the destination.
	want    map[string]string
	all     bool
	absent  []string
	err     error  // errors.Is target
	errText string // substring of the error
	stats   *Stats
}

func runCases(t *testing.T, cases []copyCase) {
	t.Helper()
	requireRoot(t)
	// Each case runs with files written one by one and by the pool.
	defer func(n int) { fileWorkers = n }(fileWorkers)
	for _, tc := range cases {
		for _, workers := range []int{1, 4} {
			fileWorkers = workers
			t.Run(fmt.Sprintf("%s/workers=%d", tc.name, workers), func(t *testing.T) { runCase(t, tc) })
		}
	}
}

func runCase(t *testing.T, tc copyCase) {
	t.Helper()
	base := t.TempDir()
	srcRoot, destRoot := filepath.Join(base, "src"), filepath.Join(base, "dst")
	for _, d := range []string{srcRoot, destRoot} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build(t, srcRoot, tc.src...)
	build(t, destRoot, tc.dst...)
	req := tc.req
	req.SrcRoot, req.DestRoot = srcRoot, destRoot
	if tc.ignore != nil {
		pm, err := patternmatcher.New(tc.ignore)
		if err != nil {
			t.Fatal(err)
		}
		req.Ignore = pm
	}
	st, err := Copy(context.Background(), req)
	switch {
	case tc.err != nil || tc.errText != "":
		if err == nil {
			t.Fatalf("Copy succeeded, want error %v %q", tc.err, tc.errText)
		}
		if tc.err != nil && !errors.Is(err, tc.err) {
			t.Fatalf("Copy error %v, want %v", err, tc.err)
		}
		if !strings.Contains(err.Error(), tc.errText) {
			t.Fatalf("Copy error %q does not contain %q", err, tc.errText)
		}
		return
	case err != nil:
		t.Fatalf("Copy: %v", err)
	}
	// Nothing may appear next to the roots, nor in the host's /etc
	// that some destination symlinks point at.
	if got := listTree(t, base); !onlyRoots(got) {
		t.Errorf("written outside the roots: %v", got)
	}
	if _, err := os.Lstat("/etc/a.txt"); err == nil {
		t.Errorf("/etc/a.txt was written on the host")
	}
	checkTree(t, destRoot, tc.want, tc.all)
	for _, p := range tc.absent {
		if _, err := os.Lstat(filepath.Join(destRoot, p)); err == nil {
			t.Errorf("%s exists, want absent", p)
		}
	}
	if tc.stats != nil && st != *tc.stats {
		t.Errorf("stats %+v, want %+v", st, *tc.stats)
	}
}

func onlyRoots(paths []string) bool {
	for _, p := range paths {
		if p != "src" && p != "dst" && !strings.HasPrefix(p, "src/") && !strings.HasPrefix(p, "dst/") {
			return false
		}
	}
	return true
}

func TestCopyPlacement(t *testing.T) {
	a := file("a.txt", "A", 0o644)
	b := file("b.txt", "B", 0o644)
	sub := []node{dirn("sub", 0o750), file("sub/x", "X", 0o640), dirn("sub/y", 0o755), file("sub/y/z", "Z", 0o600)}
	runCases(t, []copyCase{
		{
			name: "file to a path ending in slash goes inside",
			src:  []node{a},
			req:  Request{Sources: []string{"a.txt"}, Dest: "/d/"},
			want: map[string]string{"d": "d 0755 0:0", "d/a.txt": "f 0644 0:0 A"},
			all:  true, stats: &Stats{Files: 1, Bytes: 1},
		},
		{
			name: "file to a new path becomes that file",
			src:  []node{a},
			req:  Request{Sources: []string{"a.txt"}, Dest: "/d"},
			want: map[string]string{"d": "f 0644 0:0 A"},
			all:  true,
		},
		{
			name: "file to an existing directory goes inside and keeps the directory",
			src:  []node{a},
			dst:  []node{dirn("d", 0o700).owned(5, 6)},
			req:  Request{Sources: []string{"a.txt"}, Dest: "/d"},
			want: map[string]string{"d": "d 0700 5:6", "d/a.txt": "f 0644 0:0 A"},
			all:  true,
		},
		{
			name: "dest ending in /. is a directory",
			src:  []node{a},
			req:  Request{Sources: []string{"./a.txt"}, Dest: "/d/."},
			want: map[string]string{"d/a.txt": "f 0644 0:0 A"},
		},
		{
			name: "missing parents are created 0755 and root owned",
			src:  []node{a},
			req:  Request{Sources: []string{"a.txt"}, Dest: "/p/q/r"},
			want: map[string]string{"p": "d 0755 0:0", "p/q": "d 0755 0:0", "p/q/r": "f 0644 0:0 A"},
			all:  true,
		},
		{
			name: "a directory copies its contents, not itself",
			src:  sub,
			req:  Request{Sources: []string{"sub"}, Dest: "/out"},
			want: map[string]string{
				"out": "d 0755 0:0", "out/x": "f 0640 0:0 X", "out/y": "d 0755 0:0", "out/y/z": "f 0600 0:0 Z",
			},
			all: true, stats: &Stats{Files: 2, Bytes: 2},
		},
		{
			name: "a directory merges into an existing one",
			src:  append(sub, dirn("sub/y", 0o751).owned(3, 3)),
			dst:  []node{dirn("out", 0o700).owned(7, 7), dirn("out/y", 0o700).owned(7, 7), file("out/keep", "K", 0o600), file("out/x", "old", 0o666)},
			req:  Request{Sources: []string{"sub/"}, Dest: "/out"},
			want: map[string]string{
				// The destination itself keeps its mode and owner; a nested
				// directory that exists takes the source's, as in BuildKit.
				"out": "d 0700 7:7", "out/y": "d 0751 0:0", "out/keep": "f 0600 0:0 K", "out/x": "f 0640 0:0 X", "out/y/z": "f 0600 0:0 Z",
			},
			all: true,
		},
		{
			name: "the context root copies everything",
			src:  []node{a, b},
			req:  Request{Sources: []string{"."}, Dest: "/all/"},
			want: map[string]string{"all": "d 0755 0:0", "all/a.txt": "f 0644 0:0 A", "all/b.txt": "f 0644 0:0 B"},
			all:  true,
		},
		{
			// BuildKit copies each source to /d in turn: the last one wins
			// (the Dockerfile reference asks for a "/", Docker does not).
			name: "several files to a file destination: the last one wins",
			src:  []node{a, b},
			req:  Request{Sources: []string{"a.txt", "b.txt"}, Dest: "/d"},
			want: map[string]string{"d": "f 0644 0:0 B"},
		},
		{
			name: "several files into a path ending in slash",
			src:  []node{a, b},
			req:  Request{Sources: []string{"a.txt", "b.txt"}, Dest: "/d/"},
			want: map[string]string{"d/a.txt": "f 0644 0:0 A", "d/b.txt": "f 0644 0:0 B"},
		},
		{
			name: "several files into an existing directory without slash",
			src:  []node{a, b},
			dst:  []node{dirn("d", 0o755)},
			req:  Request{Sources: []string{"a.txt", "b.txt"}, Dest: "/d"},
			want: map[string]string{"d/a.txt": "f 0644 0:0 A", "d/b.txt": "f 0644 0:0 B"},
		},
		{
			name: "several directories without slash merge (BuildKit)",
			src:  []node{file("d1/one", "1", 0o644), file("d2/two", "2", 0o644)},
			req:  Request{Sources: []string{"d1", "d2"}, Dest: "/m"},
			want: map[string]string{"m/one": "f 0644 0:0 1", "m/two": "f 0644 0:0 2"},
		},
		{
			name: "a directory first makes the destination a directory for the rest",
			src:  []node{file("d1/one", "1", 0o644), a},
			req:  Request{Sources: []string{"d1", "a.txt"}, Dest: "/m"},
			want: map[string]string{"m/one": "f 0644 0:0 1", "m/a.txt": "f 0644 0:0 A"},
		},
		{
			name: "a file replaces a file",
			src:  []node{a},
			dst:  []node{file("d/a.txt", "old", 0o666).owned(9, 9)},
			req:  Request{Sources: []string{"a.txt"}, Dest: "/d/"},
			want: map[string]string{"d/a.txt": "f 0644 0:0 A"},
		},
		{
			name: "a file replaces a symlink without writing through it",
			src:  []node{a},
			dst:  []node{file("etc/passwd", "root", 0o644), symlink("d/a.txt", "/etc/passwd")},
			req:  Request{Sources: []string{"a.txt"}, Dest: "/d/"},
			want: map[string]string{"d/a.txt": "f 0644 0:0 A", "etc/passwd": "f 0644 0:0 root"},
		},
		{
			name:    "a directory does not replace a file",
			src:     []node{file("s/x/inner", "I", 0o644)},
			dst:     []node{file("out/x", "file", 0o644)},
			req:     Request{Sources: []string{"s"}, Dest: "/out/"},
			err:     ErrNotDir,
			errText: "/out/x",
		},
		{
			name:    "a file does not replace a directory",
			src:     []node{file("s/x", "file", 0o644)},
			dst:     []node{file("out/x/inner", "I", 0o644)},
			req:     Request{Sources: []string{"s"}, Dest: "/out/"},
			err:     ErrIsDir,
			errText: "/out/x",
		},
		{
			name:    "a directory cannot be the destination file",
			src:     sub,
			dst:     []node{file("out", "file", 0o644)},
			req:     Request{Sources: []string{"sub"}, Dest: "/out"},
			err:     ErrNotDir,
			errText: "/out",
		},
		{
			name: "the destination is resolved inside the root through absolute symlinks",
			src:  []node{a},
			dst:  []node{dirn("etc", 0o755), symlink("app", "/etc")},
			req:  Request{Sources: []string{"a.txt"}, Dest: "/app/"},
			want: map[string]string{"etc/a.txt": "f 0644 0:0 A", "app": "l /etc"},
		},
		{
			name: "relative symlinks climbing out of the root stop at it",
			src:  []node{a},
			dst:  []node{dirn("etc", 0o755), dirn("x/y", 0o755), symlink("x/y/up", "../../../../../../etc")},
			req:  Request{Sources: []string{"a.txt"}, Dest: "/x/y/up/"},
			want: map[string]string{"etc/a.txt": "f 0644 0:0 A"},
		},
		{
			name: "a dangling destination symlink is followed inside the root",
			src:  []node{a},
			dst:  []node{symlink("x", "/nowhere/deep")},
			req:  Request{Sources: []string{"a.txt"}, Dest: "/x"},
			want: map[string]string{"x": "l /nowhere/deep", "nowhere/deep": "f 0644 0:0 A"},
		},
		{
			name: "the destination root itself",
			src:  []node{a},
			req:  Request{Sources: []string{"a.txt"}, Dest: "/"},
			want: map[string]string{"a.txt": "f 0644 0:0 A"},
			all:  true,
		},
	})
}

func TestCopySources(t *testing.T) {
	globSrc := []node{
		file("foo.go", "foo", 0o644), file("bar.go", "bar", 0o644), file("c.md", "C", 0o644),
		file("sub/dir1/dir2/foo", "deep", 0o644), file("sub/top", "T", 0o644),
	}
	runCases(t, []copyCase{
		{
			name: "glob matches files",
			src:  globSrc,
			req:  Request{Sources: []string{"*.go"}, Dest: "/gofiles/"},
			want: map[string]string{"gofiles": "d 0755 0:0", "gofiles/foo.go": "f 0644 0:0 foo", "gofiles/bar.go": "f 0644 0:0 bar"},
			all:  true,
		},
		{
			name: "glob matching one file names the destination file",
			src:  globSrc,
			req:  Request{Sources: []string{"f*.go"}, Dest: "/foo2.go"},
			want: map[string]string{"foo2.go": "f 0644 0:0 foo"},
			all:  true,
		},
		{
			name: "glob matching several files to a file destination: the last match wins",
			src:  globSrc,
			req:  Request{Sources: []string{"*.go"}, Dest: "/x"},
			want: map[string]string{"x": "f 0644 0:0 foo"},
		},
		{
			name: "glob over a directory copies each match's contents",
			src:  globSrc,
			req:  Request{Sources: []string{"sub/*"}, Dest: "/subdest/"},
			want: map[string]string{"subdest/dir2/foo": "f 0644 0:0 deep", "subdest/top": "f 0644 0:0 T"},
		},
		{
			name: "glob in a middle component",
			src:  globSrc,
			req:  Request{Sources: []string{"sub/*/dir2/foo"}, Dest: "/subdest3/bar"},
			want: map[string]string{"subdest3": "d 0755 0:0", "subdest3/bar": "f 0644 0:0 deep"},
			all:  true,
		},
		{
			name: "question mark and character class",
			src:  []node{file("f1.txt", "1", 0o644), file("f22.txt", "22", 0o644), file("a.txt", "a", 0o644), file("d.txt", "d", 0o644)},
			req:  Request{Sources: []string{"f?.txt", "[a-c].txt"}, Dest: "/g/"},
			want: map[string]string{"g": "d 0755 0:0", "g/f1.txt": "f 0644 0:0 1", "g/a.txt": "f 0644 0:0 a"},
			all:  true,
		},
		{
			name: "glob matching nothing copies nothing and creates nothing",
			src:  globSrc,
			req:  Request{Sources: []string{"nomatch*"}, Dest: "/x/"},
			want: map[string]string{},
			all:  true,
		},
		{
			name: "glob matching nothing next to a real source",
			src:  []node{file("foo", "contents0", 0o644)},
			req:  Request{Sources: []string{"foo", "nomatch*"}, Dest: "/"},
			want: map[string]string{"foo": "f 0644 0:0 contents0"},
			all:  true,
		},
		{
			name:    "missing source",
			src:     globSrc,
			req:     Request{Sources: []string{"missing.txt"}, Dest: "/x/"},
			err:     ErrNotFound,
			errText: `"missing.txt"`,
		},
		{
			name:    "glob below a missing directory",
			src:     globSrc,
			req:     Request{Sources: []string{"nodir/*.txt"}, Dest: "/x/"},
			err:     ErrNotFound,
			errText: `"nodir/*.txt"`,
		},
		{
			name: "nothing is written when a later source is missing",
			src:  globSrc,
			req:  Request{Sources: []string{"foo.go", "missing"}, Dest: "/x/"},
			err:  ErrNotFound,
		},
		{
			name:    "a path through a file is missing",
			src:     globSrc,
			req:     Request{Sources: []string{"foo.go/x"}, Dest: "/x/"},
			err:     ErrNotFound,
			errText: "foo.go/x",
		},
	})
}

func TestCopySymlinksAndEscapes(t *testing.T) {
	// The host's own /etc/hostname must never be read: the sources below
	// all point at it from outside SrcRoot.
	runCases(t, []copyCase{
		{
			name: "a named symlink is followed",
			src:  []node{file("bar", "bar-contents", 0o644), symlink("foo", "bar")},
			req:  Request{Sources: []string{"foo"}, Dest: "/"},
			want: map[string]string{"foo": "f 0644 0:0 bar-contents"},
			all:  true,
		},
		{
			name: "glob matches are followed, chains too",
			src: []node{
				file("sub/lfile", "lfile", 0o644), symlink("sub/l0", "subfile"), file("sub/subfile", "subfile", 0o644),
				symlink("sub/l1", "second"), symlink("sub/second", "baz"), file("sub/baz", "baz", 0o644),
			},
			req: Request{Sources: []string{"sub/l*"}, Dest: "/alllinks/"},
			want: map[string]string{
				"alllinks": "d 0755 0:0", "alllinks/l0": "f 0644 0:0 subfile", "alllinks/l1": "f 0644 0:0 baz", "alllinks/lfile": "f 0644 0:0 lfile",
			},
			all: true,
		},
		{
			name: "symlinks inside a copied directory stay symlinks",
			src:  []node{file("d/f", "F", 0o644), symlink("d/abs", "/etc/hostname"), symlink("d/rel", "../../../etc/hostname"), symlink("d/dirlink", "/etc")},
			req:  Request{Sources: []string{"d"}, Dest: "/o/"},
			want: map[string]string{"o": "d 0755 0:0", "o/f": "f 0644 0:0 F", "o/abs": "l /etc/hostname", "o/rel": "l ../../../etc/hostname", "o/dirlink": "l /etc"},
			all:  true,
		},
		{
			name: "a path through a symlinked directory resolves in the source root",
			src:  []node{file("sub/foo", "contents", 0o644), symlink("link", "sub")},
			req:  Request{Sources: []string{"link/foo"}, Dest: "/"},
			want: map[string]string{"foo": "f 0644 0:0 contents"},
			all:  true,
		},
		{
			name: "dot-dot in a source stops at the source root",
			src:  []node{file("etc/hostname", "mine", 0o644)},
			req:  Request{Sources: []string{"../../../../etc/hostname"}, Dest: "/h"},
			want: map[string]string{"h": "f 0644 0:0 mine"},
		},
		{
			name: "dot-dot to a host file that the source root lacks",
			src:  []node{file("a", "A", 0o644)},
			req:  Request{Sources: []string{"../../../../etc/hostname"}, Dest: "/h"},
			err:  ErrNotFound,
		},
		{
			name: "an absolute symlink resolves in the source root",
			src:  []node{file("etc/hostname", "mine", 0o644), symlink("abs", "/etc/hostname")},
			req:  Request{Sources: []string{"abs"}, Dest: "/h"},
			want: map[string]string{"h": "f 0644 0:0 mine"},
		},
		{
			name: "an absolute symlink to a host file the source root lacks",
			src:  []node{symlink("abs", "/etc/hostname")},
			req:  Request{Sources: []string{"abs"}, Dest: "/h"},
			err:  ErrNotFound,
		},
		{
			name: "a relative symlink climbing out resolves in the source root",
			src:  []node{file("etc/hostname", "mine", 0o644), symlink("a/b/up", "../../../../../../etc")},
			req:  Request{Sources: []string{"a/b/up/hostname"}, Dest: "/h"},
			want: map[string]string{"h": "f 0644 0:0 mine"},
		},
		{
			name: "a glob through a symlink climbing out",
			src:  []node{symlink("up", "../../../../../../etc")},
			req:  Request{Sources: []string{"up/host*"}, Dest: "/h/"},
			err:  ErrNotFound,
		},
		{
			name: "a glob does not descend through symlinked directories",
			src:  []node{file("real/x/f", "F", 0o644), symlink("link", "real")},
			req:  Request{Sources: []string{"*/x/f"}, Dest: "/g/"},
			want: map[string]string{"g": "d 0755 0:0", "g/f": "f 0644 0:0 F"},
			all:  true,
		},
	})
}

func TestCopyOwnershipModesTimes(t *testing.T) {
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	epoch := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	owned := []node{dirn("d", 0o750).owned(1234, 1235), file("d/f", "F", 0o640).owned(1234, 1235), symlink("d/l", "f")}
	runCases(t, []copyCase{
		{
			name: "context files become 0:0",
			src:  owned,
			req:  Request{Sources: []string{"d"}, Dest: "/o/"},
			want: map[string]string{"o": "d 0755 0:0", "o/f": "f 0640 0:0 F"},
		},
		{
			name: "KeepOwner keeps the source owner (COPY --from)",
			src:  append(owned, dirn("d/sub", 0o700).owned(55, 56)),
			req:  Request{Sources: []string{"d"}, Dest: "/o/", KeepOwner: true},
			// The destination directory is created as root's.
			want: map[string]string{"o": "d 0755 0:0", "o/f": "f 0640 1234:1235 F", "o/sub": "d 0700 55:56"},
		},
		{
			name: "Owner owns everything written and the created parents",
			src:  owned,
			dst:  []node{dirn("exist", 0o700).owned(500, 600)},
			req:  Request{Sources: []string{"d"}, Dest: "/exist/p/q/", Owner: &Owner{UID: 300, GID: 400}},
			want: map[string]string{
				"exist": "d 0700 500:600", "exist/p": "d 0755 300:400", "exist/p/q": "d 0755 300:400",
				"exist/p/q/f": "f 0640 300:400 F",
			},
		},
		{
			name: "octal chmod applies to files and created parents (BuildKit)",
			src:  []node{file("foo", "foo", 0o600)},
			req:  Request{Sources: []string{"foo"}, Dest: "/parent/sub/foo", Chmod: "770"},
			want: map[string]string{"parent": "d 0770 0:0", "parent/sub": "d 0770 0:0", "parent/sub/foo": "f 0770 0:0 foo"},
		},
		{
			name: "octal chmod zero and special bits",
			src:  []node{file("foo", "foo", 0o644), file("bar", "bar", 0o644)},
			req:  Request{Sources: []string{"foo"}, Dest: "/foobis", Chmod: "4755"},
			want: map[string]string{"foobis": "f 4755 0:0 foo"},
		},
		{
			name: "octal chmod applies to copied directories too",
			src:  []node{dirn("d", 0o700), dirn("d/e", 0o700), file("d/e/f", "F", 0o600)},
			req:  Request{Sources: []string{"d"}, Dest: "/o/", Chmod: "0644"},
			want: map[string]string{"o": "d 0644 0:0", "o/e": "d 0644 0:0", "o/e/f": "f 0644 0:0 F"},
		},
		{
			name: "symbolic chmod with X on files and directories",
			src:  []node{dirn("d", 0o124), dirn("d/e", 0o124), file("d/f", "F", 0o666), file("d/x", "X", 0o744)},
			req:  Request{Sources: []string{"d"}, Dest: "/o/", Chmod: "a+X"},
			// Created parents get 0755 with a symbolic mode; X adds execute
			// to directories and already-executable files only.
			want: map[string]string{"o": "d 0755 0:0", "o/e": "d 0135 0:0", "o/f": "f 0666 0:0 F", "o/x": "f 0755 0:0 X"},
		},
		{
			name: "modification times are kept",
			src:  []node{dirn("d", 0o755).at(old), file("d/f", "F", 0o644).at(old), dirn("d/e", 0o755).at(old), symlink("d/l", "f")},
			req:  Request{Sources: []string{"d"}, Dest: "/o"},
			want: map[string]string{"o/f": "f 0644 0:0 F"},
		},
		{
			name:    "invalid chmod",
			src:     []node{file("foo", "foo", 0o644)},
			req:     Request{Sources: []string{"foo"}, Dest: "/x", Chmod: "64a"},
			errText: "invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777",
		},
		{
			name:    "chmod out of range",
			src:     []node{file("foo", "foo", 0o644)},
			req:     Request{Sources: []string{"foo"}, Dest: "/x", Chmod: "10000"},
			errText: "between 0 and 07777",
		},
		{
			name: "ModTime clamps newer times and keeps older ones",
			src:  []node{dirn("d", 0o755).at(old), file("d/old", "O", 0o644).at(old), file("d/new", "N", 0o644)},
			req:  Request{Sources: []string{"d"}, Dest: "/p/q/", ModTime: &epoch},
			want: map[string]string{"p/q/old": "f 0644 0:0 O", "p/q/new": "f 0644 0:0 N"},
		},
	})

	// Times need a look at the results themselves.
	requireRoot(t)
	t.Run("times of files, directories and symlinks", func(t *testing.T) {
		src, dst := t.TempDir(), t.TempDir()
		build(t, src, dirn("d", 0o755).at(old), file("d/f", "F", 0o644).at(old), dirn("d/e", 0o755).at(old), symlink("d/l", "f").at(old))
		if _, err := Copy(context.Background(), Request{SrcRoot: src, DestRoot: dst, Sources: []string{"d"}, Dest: "/o"}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"o", "o/f", "o/e", "o/l"} {
			if got := mtimeOf(t, filepath.Join(dst, p)); !got.Equal(old) {
				t.Errorf("%s mtime %v, want %v", p, got, old)
			}
		}
	})
	t.Run("ModTime clamps", func(t *testing.T) {
		src, dst := t.TempDir(), t.TempDir()
		build(t, src, dirn("d", 0o755).at(old), file("d/old", "O", 0o644).at(old), file("d/new", "N", 0o644))
		_, err := Copy(context.Background(), Request{SrcRoot: src, DestRoot: dst, Sources: []string{"d"}, Dest: "/p/q/", ModTime: &epoch})
		if err != nil {
			t.Fatal(err)
		}
		// A heredoc gets the build time, clamped too.
		_, err = Copy(context.Background(), Request{DestRoot: dst, Dest: "/i/", ModTime: &epoch, Inline: []plan.InlineFile{{Name: "inline", Data: "I"}}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]time.Time{"p": epoch, "p/q": old, "p/q/old": old, "p/q/new": epoch, "i": epoch, "i/inline": epoch}
		for p, w := range want {
			if got := mtimeOf(t, filepath.Join(dst, p)); !got.Equal(w) {
				t.Errorf("%s mtime %v, want %v", p, got, w)
			}
		}
	})
}

func TestCopyHardLinksAndSpecialFiles(t *testing.T) {
	requireRoot(t)
	src, dst := t.TempDir(), t.TempDir()
	build(t, src, file("d/a", "A", 0o644), hardlink("d/b", "d/a"), file("e", "A", 0o644), hardlink("f", "e"), node{path: "d/fifo", kind: 'p', mode: 0o640})
	sock := filepath.Join(src, "d", "sock")
	if err := mkSocket(sock); err != nil {
		t.Fatal(err)
	}
	st, err := Copy(context.Background(), Request{SrcRoot: src, DestRoot: dst, Sources: []string{"d", "e", "f"}, Dest: "/o/"})
	if err != nil {
		t.Fatal(err)
	}
	if !sameFile(t, filepath.Join(dst, "o/a"), filepath.Join(dst, "o/b")) {
		t.Error("hard links within one source are not kept")
	}
	if sameFile(t, filepath.Join(dst, "o/e"), filepath.Join(dst, "o/f")) {
		t.Error("hard links across sources are linked; BuildKit copies each source separately")
	}
	checkTree(t, dst, map[string]string{
		"o/fifo": "p 0640 0:0",
		// Sockets become empty regular files, as in BuildKit.
		"o/sock": "f 0640 0:0 ",
	}, false)
	if want := (Stats{Files: 6, Bytes: 3}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(fa, fb)
}

func TestCopyFilters(t *testing.T) {
	tree := []node{
		file("README.md", "r", 0o644), file("main.go", "m", 0o644), file("secret", "s", 0o600),
		file("docs/keep.md", "k", 0o644), file("docs/other.txt", "o", 0o644),
		file("dir1/file-101.png", "2", 0o644), file("dir1/file-102.txt", "3", 0o644), file("dir1/file-103.jpeg", "4", 0o644),
		file("dir3/file-301.mp3", "9", 0o644), file("dir3/file-302.mpeg", "10", 0o644),
		file("bar/foo", "f", 0o644), file("bar/baz/foo3", "f3", 0o644), file("foo2", "f2", 0o644),
	}
	ignore := []string{"*.md", "secret", "docs", "!docs/keep.md"}
	runCases(t, []copyCase{
		{
			name:   ".dockerignore hides files in a copied directory",
			src:    tree,
			ignore: ignore,
			req:    Request{Sources: []string{"."}, Dest: "/c/"},
			want: map[string]string{
				"c/main.go": "f 0644 0:0 m", "c/docs/keep.md": "f 0644 0:0 k", "c/docs": "d 0755 0:0",
			},
			absent: []string{"c/README.md", "c/secret", "c/docs/other.txt"},
		},
		{
			name:    ".dockerignore hides a named file",
			src:     tree,
			ignore:  ignore,
			req:     Request{Sources: []string{"secret"}, Dest: "/c/"},
			err:     ErrNotFound,
			errText: ".dockerignore",
		},
		{
			name:   ".dockerignore keeps re-included files of an ignored named directory",
			src:    tree,
			ignore: ignore,
			req:    Request{Sources: []string{"docs"}, Dest: "/c/"},
			want:   map[string]string{"c": "d 0755 0:0", "c/keep.md": "f 0644 0:0 k"},
			all:    true,
		},
		{
			name:   ".dockerignore hides glob matches",
			src:    tree,
			ignore: ignore,
			req:    Request{Sources: []string{"*"}, Dest: "/c/"},
			absent: []string{"c/README.md", "c/secret", "c/other.txt"},
			want:   map[string]string{"c/main.go": "f 0644 0:0 m", "c/keep.md": "f 0644 0:0 k"},
		},
		{
			name: "--exclude matches below each copied directory",
			src:  tree,
			req:  Request{Sources: []string{"dir3/"}, Dest: "/3/", Exclude: []string{"*.mp3"}},
			want: map[string]string{"3": "d 0755 0:0", "3/file-302.mpeg": "f 0644 0:0 10"},
			all:  true,
		},
		{
			name: "--exclude with directory patterns from the context root",
			src:  tree,
			req:  Request{Sources: []string{"."}, Dest: "/1", Exclude: []string{"*/*.png", "*/*.jpeg"}},
			want: map[string]string{"1/dir1/file-102.txt": "f 0644 0:0 3"},
			absent: []string{
				"1/dir1/file-101.png", "1/dir1/file-103.jpeg",
			},
		},
		{
			name: "--exclude with a re-include walks the excluded directory",
			src:  tree,
			req:  Request{Sources: []string{"."}, Dest: "/x/", Exclude: []string{"bar*", "!bar/baz"}},
			want: map[string]string{"x/bar/baz/foo3": "f 0644 0:0 f3", "x/bar": "d 0755 0:0"},
			// foo2 does not match bar*; bar/foo does.
			absent: []string{"x/bar/foo"},
		},
		{
			name:   "--exclude filters glob matches",
			src:    tree,
			req:    Request{Sources: []string{"dir1/file-*"}, Dest: "/g/", Exclude: []string{"*.png", "*.jpeg"}},
			want:   map[string]string{"g": "d 0755 0:0", "g/file-102.txt": "f 0644 0:0 3"},
			all:    true,
			absent: []string{"g/file-101.png"},
		},
		{
			name: "--exclude of everything leaves the destination empty",
			src:  tree,
			req:  Request{Sources: []string{"dir*"}, Dest: "/6", Exclude: []string{"*"}},
			want: map[string]string{"6": "d 0755 0:0"},
			all:  true,
		},
	})
}

func TestCopyParents(t *testing.T) {
	ctxTree := []node{file("foo1/foo2/bar", "testing", 0o644), file("foo1/foo2/baz", "testing2", 0o644)}
	// The tree of BuildKit's testCopyRelativeParents, under /test.
	rel := []node{
		dirn("test/a/b/c/d/e", 0o755), dirn("test/a/b2/c/d/e", 0o755), dirn("test/a/b/c2/d/e", 0o755), dirn("test/a/b/c2/d/e2", 0o755),
		file("test/a/b/c/d/foo", "", 0o644), file("test/a/b/c/d/e/bay", "", 0o644), file("test/a/b2/c/d/e/bar", "", 0o644),
		file("test/a/b/c2/d/e/baz", "", 0o644), file("test/a/b/c2/d/e2/baz", "", 0o644),
	}
	runCases(t, []copyCase{
		{
			name: "a file keeps its path",
			src:  ctxTree,
			req:  Request{Sources: []string{"foo1/foo2/bar"}, Dest: "/", Parents: true},
			want: map[string]string{"foo1": "d 0755 0:0", "foo1/foo2": "d 0755 0:0", "foo1/foo2/bar": "f 0644 0:0 testing"},
			all:  true,
		},
		{
			name: "a glob keeps the paths of its matches",
			src:  ctxTree,
			req:  Request{Sources: []string{"foo1/foo2/ba*"}, Dest: "/test", Parents: true},
			want: map[string]string{"test/foo1/foo2/bar": "f 0644 0:0 testing", "test/foo1/foo2/baz": "f 0644 0:0 testing2"},
		},
		{
			name:   "pivot in the middle",
			src:    rel,
			req:    Request{Sources: []string{"/test/a/b/./c/d"}, Dest: "/out/", Parents: true},
			want:   map[string]string{"out/c/d/e": "d 0755 0:0", "out/c/d/foo": "f 0644 0:0 "},
			absent: []string{"out/a", "out/e", "out/test"},
		},
		{
			name: "pivot at the end",
			src:  rel,
			req:  Request{Sources: []string{"/test/a/b/c/d/."}, Dest: "/out/", Parents: true},
			want: map[string]string{"out/test/a/b/c/d/e": "d 0755 0:0", "out/test/a/b/c/d/foo": "f 0644 0:0 "},
		},
		{
			name:   "no pivot, relative",
			src:    rel,
			req:    Request{Sources: []string{"./test/a/b/c/d"}, Dest: "/out/", Parents: true},
			want:   map[string]string{"out/test/a/b/c/d/e": "d 0755 0:0", "out/test/a/b/c/d/foo": "f 0644 0:0 "},
			absent: []string{"out/test/a/b2", "out/test/a/b/c2"},
		},
		{
			name: "two pivots: the first one counts",
			src:  rel,
			req:  Request{Sources: []string{"/test/a/./b/./c"}, Dest: "/out/", Parents: true},
			want: map[string]string{"out/b/c/d/e": "d 0755 0:0", "out/b/c/d/foo": "f 0644 0:0 "},
		},
		{
			name: "glob after the pivot",
			src:  rel,
			req:  Request{Sources: []string{"/test/a/./*/c"}, Dest: "/out/", Parents: true},
			want: map[string]string{"out/b/c/d/e": "d 0755 0:0", "out/b2/c/d/e/bar": "f 0644 0:0 "},
		},
		{
			name: "globs before the pivot and ** after it",
			src:  rel,
			req:  Request{Sources: []string{"/test/a/b*/./c/**/e"}, Dest: "/out/", Parents: true},
			want: map[string]string{"out/c/d/e": "d 0755 0:0", "out/c/d/e/bay": "f 0644 0:0 ", "out/c/d/e/bar": "f 0644 0:0 "},
		},
		{
			name:   "two sources with globs and **",
			src:    rel,
			req:    Request{Sources: []string{"/test/a/b/c*/./d/**/baz", "/test/a/b*/./c/**/bar"}, Dest: "/out/", Parents: true},
			want:   map[string]string{"out/d/e/baz": "f 0644 0:0 ", "out/d/e2/baz": "f 0644 0:0 ", "out/c/d/e/bar": "f 0644 0:0 "},
			absent: []string{"out/d/e/bay"},
		},
		{
			name:    "a missing literal path",
			src:     rel,
			req:     Request{Sources: []string{"/test/nonexistent-file"}, Dest: "/out/", Parents: true},
			err:     ErrNotFound,
			errText: "/test/nonexistent-file",
		},
		{
			name: "a glob matching nothing still makes the destination",
			src:  rel,
			req:  Request{Sources: []string{"/test/a/b3*/c"}, Dest: "/out/", Parents: true},
			want: map[string]string{"out": "d 0755 0:0"},
			all:  true,
		},
		{
			name: "a glob after the pivot",
			src:  rel,
			req:  Request{Sources: []string{"/test/a/b/./c2*"}, Dest: "/out/", Parents: true},
			want: map[string]string{"out": "d 0755 0:0", "out/c2": "d 0755 0:0", "out/c2/d": "d 0755 0:0", "out/c2/d/e": "d 0755 0:0", "out/c2/d/e/baz": "f 0644 0:0 ", "out/c2/d/e2": "d 0755 0:0", "out/c2/d/e2/baz": "f 0644 0:0 "},
			all:  true,
		},
		{
			name: "a glob after the pivot matching nothing makes only the destination",
			src:  rel,
			req:  Request{Sources: []string{"/test/a/b/./zz*"}, Dest: "/out/", Parents: true},
			want: map[string]string{"out": "d 0755 0:0"},
			all:  true,
		},
		{
			name: "parent directories take the source's metadata",
			src:  []node{dirn("p", 0o710).owned(3, 4), file("p/q/f", "F", 0o600)},
			req:  Request{Sources: []string{"p/q/f"}, Dest: "/o/", Parents: true, KeepOwner: true},
			want: map[string]string{"o": "d 0755 0:0", "o/p": "d 0710 3:4", "o/p/q": "d 0755 0:0", "o/p/q/f": "f 0600 0:0 F"},
			all:  true,
		},
	})
}

func TestCopyInline(t *testing.T) {
	runCases(t, []copyCase{
		{
			name: "heredoc into a directory",
			req:  Request{Inline: []plan.InlineFile{{Name: "EOF", Data: "hello\n"}}, Dest: "/d/"},
			want: map[string]string{"d": "d 0755 0:0", "d/EOF": "f 0644 0:0 hello\n"},
			all:  true, stats: &Stats{Files: 1, Bytes: 6},
		},
		{
			name: "heredoc to a file name",
			req:  Request{Inline: []plan.InlineFile{{Name: "EOF", Data: "x"}}, Dest: "/etc/conf"},
			want: map[string]string{"etc": "d 0755 0:0", "etc/conf": "f 0644 0:0 x"},
			all:  true,
		},
		{
			name: "heredoc mode, chmod and owner",
			req:  Request{Inline: []plan.InlineFile{{Name: "run.sh", Data: "#!/bin/sh\n", Mode: 0o700}}, Dest: "/bin/", Chmod: "g+rx", Owner: &Owner{UID: 1, GID: 2}},
			want: map[string]string{"bin": "d 0755 1:2", "bin/run.sh": "f 0750 1:2 #!/bin/sh\n"},
		},
		{
			name: "heredocs and files together",
			src:  []node{file("a", "A", 0o644)},
			req:  Request{Sources: []string{"a"}, Inline: []plan.InlineFile{{Name: "b", Data: "B"}}, Dest: "/d/"},
			want: map[string]string{"d/a": "f 0644 0:0 A", "d/b": "f 0644 0:0 B"},
		},
		{
			name: "two heredocs to a file destination: the last one wins",
			req:  Request{Inline: []plan.InlineFile{{Name: "a", Data: "A"}, {Name: "b", Data: "B"}}, Dest: "/d"},
			want: map[string]string{"d": "f 0644 0:0 B"},
		},
		{
			name:    "a heredoc name must be a file name",
			req:     Request{Inline: []plan.InlineFile{{Name: "..", Data: "A"}}, Dest: "/d/"},
			errText: "not a file name",
		},
	})
}

func TestCopyRequestErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		req  Request
		want string
	}{
		{"relative destination", Request{SrcRoot: dir, DestRoot: dir, Dest: "app/"}, "must be absolute"},
		{"relative destination root", Request{SrcRoot: dir, DestRoot: "rel", Dest: "/"}, "absolute host path"},
		{"missing source root", Request{SrcRoot: filepath.Join(dir, "nope"), DestRoot: dir, Sources: []string{"a"}, Dest: "/"}, "opening source root"},
		{"bad exclude pattern", Request{SrcRoot: dir, DestRoot: dir, Dest: "/", Exclude: []string{"["}}, "--exclude"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Copy(context.Background(), tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Copy error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCopyCancelled(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	build(t, src, file("d/a", "A", 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Copy(ctx, Request{SrcRoot: src, DestRoot: dst, Sources: []string{"d"}, Dest: "/o/"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy error %v, want context.Canceled", err)
	}
}

func TestCopyIntoItself(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	build(t, root, file("d/a", "A", 0o644))
	_, err := Copy(context.Background(), Request{SrcRoot: root, DestRoot: root, Sources: []string{"d"}, Dest: "/d/inner/"})
	if err == nil || !strings.Contains(err.Error(), "into itself") {
		t.Fatalf("Copy error %v, want one about copying into itself", err)
	}
}
