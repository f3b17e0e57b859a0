package busybox

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// WriteRootfs writes the root file system into dir, which must exist and be
// empty. Ownership other than the caller's is applied only when running as
// root; times are set to Epoch.
func WriteRootfs(dir string) error {
	entries, err := Entries()
	if err != nil {
		return err
	}
	asRoot := os.Geteuid() == 0
	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		if err := writeEntry(p, e); err != nil {
			return fmt.Errorf("writing %s: %w", e.Path, err)
		}
		if asRoot {
			if err := os.Lchown(p, e.UID, e.GID); err != nil {
				return fmt.Errorf("writing %s: %w", e.Path, err)
			}
		}
	}
	// Times last, children before parents, since creating a child changes
	// its directory's mtime.
	ts := []unix.Timespec{unix.NsecToTimespec(Epoch.UnixNano()), unix.NsecToTimespec(Epoch.UnixNano())}
	for i := len(entries) - 1; i >= 0; i-- {
		p := filepath.Join(dir, filepath.FromSlash(entries[i].Path))
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("setting times of %s: %w", entries[i].Path, err)
		}
	}
	return nil
}

func writeEntry(p string, e Entry) error {
	switch {
	case e.Mode.IsDir():
		if err := os.Mkdir(p, 0o700); err != nil {
			return err
		}
		// Chmod after Mkdir: the umask would drop bits, and Mkdir ignores
		// the sticky bit.
		return os.Chmod(p, e.Mode.Perm()|e.Mode&fs.ModeSticky)
	case e.Mode&fs.ModeSymlink != 0:
		return os.Symlink(e.Link, p)
	default:
		if err := os.WriteFile(p, e.Data, 0o600); err != nil {
			return err
		}
		return os.Chmod(p, e.Mode.Perm())
	}
}
