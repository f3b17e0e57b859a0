//go:build linux

package linux

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// checkDType fails when root's file system does not report file types in
// directory entries: overlayfs needs them to find whiteouts (XFS formatted
// with ftype=0 is the usual culprit).
func checkDType(root string) error {
	f, err := os.CreateTemp(root, ".dtype-check-")
	if err != nil {
		return fmt.Errorf("checking d_type support: %w", err)
	}
	name := filepath.Base(f.Name())
	f.Close()
	defer os.Remove(f.Name())

	dir, err := os.Open(root)
	if err != nil {
		return fmt.Errorf("checking d_type support: %w", err)
	}
	defer dir.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.ReadDirent(int(dir.Fd()), buf)
		if err != nil {
			return fmt.Errorf("checking d_type support: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("checking d_type support: %s not found in its directory", name)
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				break
			}
			typ := b[18]
			entry := b[19:reclen]
			if i := bytes.IndexByte(entry, 0); i >= 0 {
				entry = entry[:i]
			}
			if string(entry) == name {
				if typ == unix.DT_UNKNOWN {
					return fmt.Errorf("%w: the file system of %s does not support d_type, which overlayfs needs (for XFS, reformat with -n ftype=1; or put the store on ext4)", ErrHost, root)
				}
				return nil
			}
			b = b[reclen:]
		}
	}
}

// checkOverlay mounts a real overlay under root with the options every
// snapshot uses, deletes a lower file through it and checks that the
// whiteout lands in the upper dir as a 0/0 character device.
func checkOverlay(root string) (err error) {
	dir, err := os.MkdirTemp(root, ".overlay-check-")
	if err != nil {
		return fmt.Errorf("checking overlayfs: %w", err)
	}
	defer os.RemoveAll(dir)
	lower, upper, work, merged := filepath.Join(dir, "l"), filepath.Join(dir, "u"), filepath.Join(dir, "w"), filepath.Join(dir, "m")
	for _, d := range []string{lower, upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("checking overlayfs: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(lower, "f"), nil, 0o644); err != nil {
		return fmt.Errorf("checking overlayfs: %w", err)
	}
	if err := mountOverlay([]string{lower}, upper, work, merged); err != nil {
		return overlayHint(root, err)
	}
	defer func() {
		if uerr := unix.Unmount(merged, unix.MNT_DETACH); uerr != nil && err == nil {
			err = fmt.Errorf("checking overlayfs: unmounting: %w", uerr)
		}
	}()
	if err := os.Remove(filepath.Join(merged, "f")); err != nil {
		return fmt.Errorf("checking overlayfs: deleting through the overlay: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(upper, "f"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		return fmt.Errorf("%w: overlayfs on %s did not record a deletion as a whiteout device; use a kernel >= 4.19 and a store on ext4 or xfs", ErrHost, root)
	}
	return nil
}

func overlayHint(root string, err error) error {
	var st unix.Statfs_t
	switch {
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("%w: the kernel has no overlayfs (run `modprobe overlay`): %v", ErrHost, err)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w: mounting overlayfs is not permitted (run as real root, or give the container CAP_SYS_ADMIN): %v", ErrHost, err)
	case unix.Statfs(root, &st) == nil && st.Type == unix.OVERLAYFS_SUPER_MAGIC:
		return fmt.Errorf("%w: %s is itself on overlayfs, which cannot hold an overlay upper dir; put the store on a volume (ext4, xfs): %v", ErrHost, root, err)
	}
	return fmt.Errorf("%w: mounting a test overlay in %s: %v (the store needs a file system overlayfs accepts as upper dir, such as ext4 or xfs, and a kernel >= 4.19)", ErrHost, root, err)
}
