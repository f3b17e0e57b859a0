package copier

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/zbuild/zbuild/internal/userdb"
)

// Owner is the uid and gid that copied files get.
type Owner struct {
	UID, GID uint32
	// Unknown lists the names of --chown that neither /etc/passwd nor
	// /etc/group knows; they became 0, as in BuildKit. Callers warn.
	Unknown []string
}

// ResolveOwner turns a --chown value ("user", "uid", "user:group", "uid:",
// …) into ids, reading /etc/passwd and /etc/group under rootfs (the stage
// being written to) when names are used. An empty value returns nil: the
// caller keeps Copy's default of 0:0.
//
// It follows BuildKit rather than `docker run --user`: a numeric uid without
// a group (or with an empty one, "1000:") gets the same number as gid, not
// the passwd entry's primary group, "root" is 0 even without a passwd, and
// a name that is not found becomes 0 (listed in Owner.Unknown) instead of
// failing the build.
func ResolveOwner(rootfs, chown string) (*Owner, error) {
	if chown == "" {
		return nil, nil
	}
	user, group, hasGroup := strings.Cut(chown, ":")
	if hasGroup && group == "" {
		hasGroup = false
	}
	if user == "" {
		return nil, fmt.Errorf("invalid --chown=%s: want user[:group]", chown)
	}
	user, group = rootToZero(user), rootToZero(group)
	o := &Owner{}
	if uid, numeric := parseID(user); numeric {
		o.UID, o.GID = uid, uid
	} else {
		id, err := userdb.Resolve(rootfs, user)
		switch {
		case errors.Is(err, userdb.ErrUnknownUser):
			o.Unknown = append(o.Unknown, user)
		case err != nil:
			return nil, fmt.Errorf("resolving --chown=%s: %w", chown, err)
		default:
			o.UID, o.GID = id.UID, id.GID
		}
	}
	if !hasGroup {
		return o, nil
	}
	if gid, numeric := parseID(group); numeric {
		o.GID = gid
		return o, nil
	}
	id, err := userdb.Resolve(rootfs, "0:"+group)
	switch {
	case errors.Is(err, userdb.ErrUnknownUser):
		o.GID = 0
		o.Unknown = append(o.Unknown, group)
	case err != nil:
		return nil, fmt.Errorf("resolving --chown=%s: %w", chown, err)
	default:
		o.GID = id.GID
	}
	return o, nil
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
