package userdb

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func writeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001:App:/home/app:/bin/sh\nbroken line\nweb:x:33:33::/var/www:/bin/sh\n"
	group := "root:x:0:\napp:x:1001:\nstaff:x:50:app,web\nwheel:x:10:app\nwww:x:33:\n"
	for name, data := range map[string]string{"passwd": passwd, "group": group} {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolve(t *testing.T) {
	root := writeRoot(t)
	tests := []struct {
		spec    string
		want    Identity
		wantErr error
	}{
		{spec: "", want: Identity{Home: "/"}},
		{spec: "root", want: Identity{Home: "/root"}},
		{spec: "app", want: Identity{UID: 1000, GID: 1001, Groups: []uint32{50, 10}, Home: "/home/app"}},
		{spec: "1000", want: Identity{UID: 1000, GID: 1001, Groups: []uint32{50, 10}, Home: "/home/app"}},
		{spec: "app:staff", want: Identity{UID: 1000, GID: 50, Home: "/home/app"}},
		{spec: "app:7", want: Identity{UID: 1000, GID: 7, Home: "/home/app"}},
		{spec: "4242", want: Identity{UID: 4242, Home: "/"}},
		{spec: "4242:4343", want: Identity{UID: 4242, GID: 4343, Home: "/"}},
		{spec: "web", want: Identity{UID: 33, GID: 33, Groups: []uint32{50}, Home: "/var/www"}},
		{spec: "nobody", wantErr: ErrUnknownUser},
		{spec: "app:nogroup", wantErr: ErrUnknownUser},
		{spec: ":1", wantErr: errors.New("invalid")},
		{spec: "app:", wantErr: errors.New("invalid")},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := Resolve(root, tt.spec)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Resolve(%q) = %+v, want error", tt.spec, got)
				}
				if errors.Is(tt.wantErr, ErrUnknownUser) && !errors.Is(err, ErrUnknownUser) {
					t.Fatalf("error %v is not ErrUnknownUser", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resolve(%q) = %+v, want %+v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestResolveScratch(t *testing.T) {
	got, err := Resolve(t.TempDir(), "1234:5678")
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != 1234 || got.GID != 5678 {
		t.Errorf("got %+v", got)
	}
	if _, err := Resolve(t.TempDir(), "app"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("named user on scratch: got %v, want ErrUnknownUser", err)
	}
}

// A symlinked /etc/passwd pointing at an absolute host path must be read
// inside the root, never from the host.
func TestResolveSymlinkStaysInRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../etc/group", filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(root, "root"); !errors.Is(err, ErrUnknownUser) {
		t.Fatalf("symlink escaped the root: got %v", err)
	}
}
