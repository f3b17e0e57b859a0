package userdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// Identity is a resolved user: what a process runs as, or what a copied
// file is owned by.
type Identity struct {
	UID, GID uint32
	// Groups are the supplementary groups (from /etc/group) of a user named
	// without an explicit group; empty otherwise.
	Groups []uint32
	// Home is the user's home directory from /etc/passwd ("/" when unknown).
	Home string
}

// ErrUnknownUser is returned (wrapped) when a name is in neither database.
var ErrUnknownUser = errors.New("unknown user or group")

// Resolve turns spec ("user", "uid", "user:group", "uid:gid", …) into ids,
// reading rootfs/etc/passwd and rootfs/etc/group. Numeric parts need no
// database, so this works on scratch and distroless images. An empty spec
// is root.
func Resolve(rootfs, spec string) (Identity, error) {
	id := Identity{Home: "/"}
	if spec == "" {
		return id, nil
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" || (hasGroup && groupPart == "") {
		return id, fmt.Errorf("invalid user %q: want user[:group] by name or id", spec)
	}
	users, err := readDB(rootfs, "/etc/passwd")
	if err != nil {
		return id, err
	}
	if n, ok := parseID(userPart); ok {
		id.UID = n
		// A numeric uid still takes its primary group and home from passwd
		// when there is an entry, as runc does.
		for _, u := range users {
			if u.id == n {
				id.GID, id.Home = u.gid, u.home
				break
			}
		}
	} else {
		found := false
		for _, u := range users {
			if u.name == userPart {
				id.UID, id.GID, id.Home, found = u.id, u.gid, u.home, true
				break
			}
		}
		if !found {
			return id, fmt.Errorf("user %q not found in /etc/passwd: %w (use a numeric uid, or create the user first)", userPart, ErrUnknownUser)
		}
	}
	groups, err := readDB(rootfs, "/etc/group")
	if err != nil {
		return id, err
	}
	if hasGroup {
		if n, ok := parseID(groupPart); ok {
			id.GID = n
		} else {
			found := false
			for _, g := range groups {
				if g.name == groupPart {
					id.GID, found = g.id, true
					break
				}
			}
			if !found {
				return id, fmt.Errorf("group %q not found in /etc/group: %w (use a numeric gid, or create the group first)", groupPart, ErrUnknownUser)
			}
		}
		return id, nil
	}
	// Supplementary groups only apply to a user given by name or with a
	// passwd entry, the way `docker run --user` resolves them.
	name := userPart
	if _, numeric := parseID(userPart); numeric {
		name = ""
		for _, u := range users {
			if u.id == id.UID {
				name = u.name
				break
			}
		}
	}
	if name != "" {
		for _, g := range groups {
			if g.id != id.GID && contains(g.members, name) {
				id.Groups = append(id.Groups, g.id)
			}
		}
	}
	return id, nil
}

type entry struct {
	name    string
	id, gid uint32
	home    string
	members []string
}

// readDB parses a passwd- or group-format file; a missing file is empty.
// The path is resolved inside rootfs so a symlinked /etc cannot point the
// read at the host.
func readDB(rootfs, name string) ([]entry, error) {
	p, err := securejoin.SecureJoin(rootfs, name)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", name, err)
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	defer f.Close()
	return parseDB(f, name == "/etc/group")
}

func parseDB(r io.Reader, group bool) ([]entry, error) {
	var out []entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 3 {
			continue
		}
		id, ok := parseID(f[2])
		if !ok {
			continue
		}
		e := entry{name: f[0], id: id, home: "/"}
		if group {
			if len(f) >= 4 && f[3] != "" {
				e.members = strings.Split(f[3], ",")
			}
		} else if len(f) >= 6 {
			if gid, ok := parseID(f[3]); ok {
				e.gid = gid
			}
			if f[5] != "" {
				e.home = f[5]
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
