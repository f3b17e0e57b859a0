package copier

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/zbuild/zbuild/internal/userdb"
)

// Owner is the uid and gid that copied files get.
type Owner struct {
	UID, GID uint32
}

// ResolveOwner turns a --chown value ("user", "uid", "user:group", "uid:",
// …) into ids, reading /etc/passwd and /etc/group under rootfs (the stage
// being written to) when names are used. An empty value returns nil: the
// caller keeps Copy's default of 0:0.
//
// It follows BuildKit rather than `docker run --user`: a numeric uid without
// a group (or with an empty one, "1000:") gets the same number as gid, not
// the passwd entry's primary group, and "root" is 0 even without a passwd.
func ResolveOwner(rootfs, chown string) (*Owner, error) {
	if chown == "" {
		return nil, nil
	}
	user, group, hasGroup := strings.Cut(chown, ":")
	if hasGroup && group == "" {
		hasGroup = false
	}
	user, group = rootToZero(user), rootToZero(group)
	if uid, numeric := parseID(user); numeric && !hasGroup {
		return &Owner{UID: uid, GID: uid}, nil
	}
	spec := user
	if hasGroup {
		spec += ":" + group
	}
	id, err := userdb.Resolve(rootfs, spec)
	if err != nil {
		return nil, fmt.Errorf("resolving --chown=%s: %w", chown, err)
	}
	return &Owner{UID: id.UID, GID: id.GID}, nil
}

func rootToZero(name string) string {
	if name == "root" {
		return "0"
	}
	return name
}

func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}
