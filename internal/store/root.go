package store

import (
	"os"
	"path/filepath"
)

// DefaultRoot is where the store lives when the caller has no better idea:
// $ZBUILD_ROOT if set; /var/lib/zbuild for root; otherwise
// $XDG_DATA_HOME/zbuild, falling back to ~/.local/share/zbuild.
func DefaultRoot() string {
	if dir := os.Getenv("ZBUILD_ROOT"); dir != "" {
		return dir
	}
	if os.Geteuid() == 0 {
		return "/var/lib/zbuild"
	}
	if dir := os.Getenv("XDG_DATA_HOME"); dir != "" {
		return filepath.Join(dir, "zbuild")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "zbuild")
	}
	// No home at all (a stripped-down service account): keep the data next
	// to the process rather than failing, the caller may still pass a root.
	return ".zbuild"
}
