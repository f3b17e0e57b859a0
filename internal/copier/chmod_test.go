//go:build linux

package copier

import (
	"io/fs"
	"strings"
	"testing"
)

func TestModeApply(t *testing.T) {
	cases := []struct {
		spec string
		in   fs.FileMode
		want fs.FileMode
	}{
		{"0755", 0o600, 0o755},
		{"755", fs.ModeDir | 0o700, fs.ModeDir | 0o755},
		{"4755", 0o644, fs.ModeSetuid | 0o755},
		{"0", 0o644, 0},
		{"go-w", 0o666, 0o644},
		{"go-w", fs.ModeDir | 0o124, fs.ModeDir | 0o104},
		{"u=rw,g=r,o=r", 0o777, 0o644},
		{"u+rw,g+r,o-x,o+w", fs.ModeDir | 0o124, fs.ModeDir | 0o766},
		// X: execute for directories and files that already have some.
		{"a+X", 0o666, 0o666},
		{"a+X", 0o744, 0o755},
		{"a+X", fs.ModeDir | 0o124, fs.ModeDir | 0o135},
		{"+X", fs.ModeDir | 0o600, fs.ModeDir | 0o711},
		{"a-X", 0o755, 0o644},
		{"u+x-w", 0o644, 0o544},
		{"u+x,g-w", 0o664, 0o744},
		{"u=g", 0o750, 0o550},
		{"o=u", 0o640, 0o646},
		{"=r", fs.ModeSetuid | 0o777, 0o444},
		{"a=", 0o755, 0},
		{"u+s", 0o755, fs.ModeSetuid | 0o755},
		{"g+s", 0o755, fs.ModeSetgid | 0o755},
		{"+s", 0o755, fs.ModeSetuid | fs.ModeSetgid | 0o755},
		{"o+s", 0o755, 0o755},
		{"+t", fs.ModeDir | 0o777, fs.ModeDir | fs.ModeSticky | 0o777},
		{"a+t", 0o755, fs.ModeSticky | 0o755},
		// BSD setmode (BuildKit's) ignores t for "o" alone.
		{"o+t", 0o755, 0o755},
		{"u-s", fs.ModeSetuid | fs.ModeSetgid | 0o755, fs.ModeSetgid | 0o755},
		{"+", 0o640, 0o640},
	}
	for _, tc := range cases {
		t.Run(tc.spec+"/"+tc.in.String(), func(t *testing.T) {
			m, err := ParseMode(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Apply(tc.in); got != tc.want {
				t.Errorf("Apply(%v) = %v (%04o), want %v (%04o)", tc.in, got, toUnix(got), tc.want, toUnix(tc.want))
			}
		})
	}
}

func TestParseModeErrors(t *testing.T) {
	cases := []struct{ spec, want string }{
		{"", "empty"},
		{"64a", "invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777"},
		{"10000", "between 0 and 07777"},
		{"8", "between 0 and 07777"},
		{"u+z", `invalid chmod parameter "u+z"`},
		{"x+r", "want an operator"},
		{"u", "without an operator"},
		{"u+x,", "trailing comma"},
		{"u+gx", "stands alone"},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := ParseMode(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseMode(%q) error %v, want one containing %q", tc.spec, err, tc.want)
			}
		})
	}
}
