//go:build unix

package buildah

import (
	"fmt"
	"os"
	"syscall"
)

// owner returns the uid and gid of p, without following a symlink.
func owner(p string) (int, int, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("no owner information for %s", p)
	}
	return int(st.Uid), int(st.Gid), nil
}
