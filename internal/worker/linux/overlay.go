//go:build linux

package linux

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// overlayFeatures are fixed so an upper dir always holds plain files and
// char 0/0 whiteouts: no index (hard links across layers would need it),
// no redirect_dir (a renamed lower dir is copied instead) and no metacopy
// (copy-up copies data), all of which the layer writer could not express.
var overlayFeatures = [][2]string{{"index", "off"}, {"redirect_dir", "off"}, {"metacopy", "off"}}

// maxLowers is overlayfs' stack limit (OVL_MAX_STACK).
const maxLowers = 500

// mountOverlay mounts lowers (top first), upper and work at target. The
// classic mount(2) data must fit in one page; longer option strings, and
// paths holding characters that the option syntax reserves, go through the
// new mount API, which takes each lower as its own parameter (lowerdir+,
// Linux >= 6.8).
func mountOverlay(lowers []string, upper, work, target string) error {
	if len(lowers) == 0 {
		return errors.New("overlay needs at least one lower dir")
	}
	if len(lowers) > maxLowers {
		return fmt.Errorf("overlay of %d layers exceeds the kernel's limit of %d; squash the base image", len(lowers), maxLowers)
	}
	var b strings.Builder
	b.WriteString("lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work)
	for _, f := range overlayFeatures {
		b.WriteString("," + f[0] + "=" + f[1])
	}
	data := b.String()
	if len(data) < unix.Getpagesize() && !reserved(append([]string{upper, work}, lowers...)) {
		if err := unix.Mount("overlay", target, "overlay", 0, data); err != nil {
			return fmt.Errorf("mounting overlay at %s: %w", target, err)
		}
		return nil
	}
	return mountOverlayFsconfig(lowers, upper, work, target, len(data))
}

func reserved(paths []string) bool {
	for _, p := range paths {
		if strings.ContainsAny(p, ",:\\") {
			return true
		}
	}
	return false
}

func mountOverlayFsconfig(lowers []string, upper, work, target string, dataLen int) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("overlay options need %d bytes, more than mount(2) takes, and the new mount API is unavailable: %w", dataLen, err)
	}
	defer unix.Close(fd)
	for _, l := range lowers {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			if errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("overlay options need %d bytes, more than mount(2) takes, and this kernel cannot add lower dirs one by one (lowerdir+ needs Linux >= 6.8): use a shorter store path or fewer layers: %w", dataLen, err)
			}
			return fmt.Errorf("adding overlay lower dir %s: %w", l, err)
		}
	}
	params := append([][2]string{{"upperdir", upper}, {"workdir", work}}, overlayFeatures...)
	for _, p := range params {
		if err := unix.FsconfigSetString(fd, p[0], p[1]); err != nil {
			return fmt.Errorf("setting overlay option %s: %w", p[0], err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("creating overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("creating overlay mount: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attaching overlay at %s: %w", target, err)
	}
	return nil
}

// unmount detaches target, lazily when something still holds it busy, so
// a leftover process cannot make cleanup fail.
func unmount(target string) error {
	err := unix.Unmount(target, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(target, unix.MNT_DETACH)
	}
	if err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("unmounting %s: %w", target, err)
	}
	return nil
}
