//go:build linux

package copier

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestResolveOwner(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\ndaemon:x:2:3::/:/bin/false\ntestuser:x:1000:2000::/home/t:/bin/sh\n"
	group := "root:x:0:\ndaemon:x:3:\ntestgroup:x:2000:\nnobody:x:65534:\n"
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/group"), []byte(group), 0o644); err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	cases := []struct {
		rootfs, chown string
		want          *Owner
		err           error
	}{
		{root, "", nil, nil},
		{root, "daemon", &Owner{2, 3, nil}, nil},
		{root, "testuser:", &Owner{1000, 2000, nil}, nil},
		{root, "testuser", &Owner{1000, 2000, nil}, nil},
		// A numeric uid gets itself as gid, not passwd's group (BuildKit).
		{root, "1000", &Owner{1000, 1000, nil}, nil},
		{root, "1000:", &Owner{1000, 1000, nil}, nil},
		{root, "1000:nobody", &Owner{1000, 65534, nil}, nil},
		{root, "testuser:testgroup", &Owner{1000, 2000, nil}, nil},
		{root, "testuser:7", &Owner{1000, 7, nil}, nil},
		{root, "root", &Owner{0, 0, nil}, nil},
		{scratch, "root", &Owner{0, 0, nil}, nil},
		{scratch, "root:root", &Owner{0, 0, nil}, nil},
		{scratch, "5:6", &Owner{5, 6, nil}, nil},
		// Unknown names become 0 and are reported, as BuildKit does.
		{root, "nosuchuser", &Owner{0, 0, []string{"nosuchuser"}}, nil},
		{root, "1000:nosuchgroup", &Owner{1000, 0, []string{"nosuchgroup"}}, nil},
		{root, "nosuchuser:testgroup", &Owner{0, 2000, []string{"nosuchuser"}}, nil},
		{scratch, "daemon", &Owner{0, 0, []string{"daemon"}}, nil},
		{root, ":5", nil, errors.New("invalid")},
	}
	for _, tc := range cases {
		t.Run(tc.chown, func(t *testing.T) {
			got, err := ResolveOwner(tc.rootfs, tc.chown)
			if tc.err != nil {
				if err == nil || !strings.Contains(err.Error(), tc.err.Error()) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
