package conformance

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Cleanup removes every container and image from buildah's storage, then
// unmounts what containers-storage left mounted under Root and RunRoot, so
// the directories can be deleted.
func (b *Buildah) Cleanup(ctx context.Context) error {
	var errs []string
	if out, err := b.run(ctx, "rm", "--all"); err != nil {
		errs = append(errs, fmt.Sprintf("%v: %s", err, out))
	}
	if out, err := b.run(ctx, "rmi", "--all", "--force"); err != nil {
		errs = append(errs, fmt.Sprintf("%v: %s", err, out))
	}
	for _, dir := range []string{b.Root, b.RunRoot} {
		if err := unmountUnder(dir); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleaning up buildah storage: %s", strings.Join(errs, "; "))
	}
	return nil
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("reading mountinfo: %w", err)
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			mounts = append(mounts, unescapeOctal(f[4]))
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			return fmt.Errorf("unmounting %s: %w", m, err)
		}
	}
	return nil
}

// unescapeOctal undoes mountinfo's \NNN escapes of spaces and tabs.
func unescapeOctal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
