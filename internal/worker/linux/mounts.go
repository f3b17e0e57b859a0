//go:build linux

package linux

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/zbuild/zbuild/plan"
)

// Mount is one RUN --mount, resolved by the engine to host paths.
type Mount struct {
	// Type is "bind", "tmpfs", "cache", "secret" or "ssh".
	Type string
	// Target is the absolute path inside the container.
	Target string
	// Source is the host path: the bind source (dir or file), the cache
	// dir from CacheMount, or the ssh agent socket.
	Source string
	// ReadOnly mounts a bind or cache read-only. A writable bind is
	// backed by a throwaway overlay: its changes are discarded.
	ReadOnly bool
	// Size limits a tmpfs, in bytes; 0 means the kernel's default.
	Size int64
	// SecretData is the secret's content (secret).
	SecretData []byte
	// Env exposes the secret as this environment variable instead of, or
	// (with a Target) as well as, a file.
	Env string
	// UID, GID and Mode own the secret file, the ssh socket or the tmpfs
	// root; Mode 0 means 0400 (secret), 0600 (ssh) or 1777 (tmpfs).
	UID, GID uint32
	Mode     uint32
}

// Mount types.
const (
	MountBind   = "bind"
	MountTmpfs  = "tmpfs"
	MountCache  = "cache"
	MountSecret = "secret"
	MountSSH    = "ssh"
)

func validateMount(m Mount) error {
	if m.Type == MountSecret && m.Target == "" && m.Env != "" {
		return nil // an env-only secret has no mount point
	}
	if !path.IsAbs(m.Target) || path.Clean(m.Target) != m.Target || m.Target == "/" {
		return fmt.Errorf("%s mount target %q must be a clean absolute path other than /", m.Type, m.Target)
	}
	switch m.Type {
	case MountBind, MountCache, MountSSH:
		if m.Source == "" {
			return fmt.Errorf("%s mount at %s has no source", m.Type, m.Target)
		}
	case MountTmpfs, MountSecret:
	default:
		return fmt.Errorf("unsupported mount type %q at %s", m.Type, m.Target)
	}
	return nil
}

// mountSet turns RunSpec mounts into spec mounts, preparing what they need
// under the run dir; cleanups undo it after the container is gone.
type mountSet struct {
	dir      string
	mounts   []specs.Mount
	env      []string
	cleanups []func() error
	secrets  string // tmpfs holding secret files, mounted on first use
	n        int
}

func (ms *mountSet) next(kind string) string {
	ms.n++
	return filepath.Join(ms.dir, kind+"-"+strconv.Itoa(ms.n))
}

func (ms *mountSet) close() error {
	var errs []error
	for i := len(ms.cleanups) - 1; i >= 0; i-- {
		errs = append(errs, ms.cleanups[i]())
	}
	ms.cleanups = nil
	return errors.Join(errs...)
}

func (ms *mountSet) bind(src, dst string, ro bool, extra ...string) {
	opts := append([]string{"rbind", "rw"}, extra...)
	if ro {
		opts[1] = "ro"
	}
	ms.mounts = append(ms.mounts, specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts})
}

// addEtc binds the generated hosts, resolv.conf and hostname, kept outside
// the root file system so they never reach a layer.
func (ms *mountSet) addEtc(hostname string, privateNetns bool) error {
	resolv, err := resolvConf(privateNetns)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"hosts", hostsFile(hostname)},
		{"resolv.conf", resolv},
		{"hostname", []byte(hostname + "\n")},
	} {
		p := filepath.Join(ms.dir, f.name)
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return fmt.Errorf("writing /etc/%s: %w", f.name, err)
		}
		ms.bind(p, "/etc/"+f.name, true, "nosuid", "nodev", "noexec")
	}
	return nil
}

// addFiles writes heredoc scripts to a dir mounted read-only at
// plan.FilesDir.
func (ms *mountSet) addFiles(files []plan.InlineFile) error {
	if len(files) == 0 {
		return nil
	}
	dir := filepath.Join(ms.dir, "files")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("creating heredoc dir: %w", err)
	}
	for _, f := range files {
		if f.Name == "" || f.Name == "." || f.Name == ".." || strings.Contains(f.Name, "/") {
			return fmt.Errorf("heredoc file name %q is not a plain file name", f.Name)
		}
		mode := os.FileMode(f.Mode & 0o7777)
		if mode == 0 {
			mode = 0o755
		}
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, []byte(f.Data), mode); err != nil {
			return fmt.Errorf("writing heredoc %s: %w", f.Name, err)
		}
		if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is masked by the umask
			return fmt.Errorf("writing heredoc %s: %w", f.Name, err)
		}
	}
	ms.bind(dir, plan.FilesDir, true, "nosuid", "nodev")
	return nil
}

// add prepares one user mount.
func (ms *mountSet) add(m Mount) error {
	switch m.Type {
	case MountBind:
		if m.ReadOnly {
			ms.bind(m.Source, m.Target, true)
			return nil
		}
		return ms.addDiscardedBind(m)
	case MountCache:
		ms.bind(m.Source, m.Target, m.ReadOnly)
	case MountTmpfs:
		mode := m.Mode & 0o7777
		if mode == 0 {
			mode = 0o1777
		}
		opts := []string{"nosuid", "nodev", fmt.Sprintf("mode=%o", mode)}
		if m.Size > 0 {
			opts = append(opts, fmt.Sprintf("size=%d", m.Size))
		}
		ms.mounts = append(ms.mounts, specs.Mount{Destination: m.Target, Type: "tmpfs", Source: "tmpfs", Options: opts})
	case MountSecret:
		return ms.addSecret(m)
	case MountSSH:
		p, sock, err := newSSHProxy(m.Source, m.UID, m.GID, m.Mode)
		if err != nil {
			return err
		}
		ms.cleanups = append(ms.cleanups, p.Close)
		ms.bind(sock, m.Target, false, "nosuid", "nodev", "noexec")
		ms.env = append(ms.env, "SSH_AUTH_SOCK="+m.Target)
	}
	return nil
}

// addDiscardedBind mounts a writable view of the source whose writes go to
// a throwaway place: an overlay with a temporary upper dir for a
// directory, a copy for a single file.
func (ms *mountSet) addDiscardedBind(m Mount) error {
	st, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("bind mount source: %w", err)
	}
	base := ms.next("bind")
	if err := os.Mkdir(base, 0o700); err != nil {
		return fmt.Errorf("preparing bind mount: %w", err)
	}
	if !st.IsDir() {
		p := filepath.Join(base, "file")
		if err := copyFile(m.Source, p, st.Mode()); err != nil {
			return fmt.Errorf("preparing bind mount of %s: %w", m.Source, err)
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			if err := os.Chown(p, int(sys.Uid), int(sys.Gid)); err != nil {
				return fmt.Errorf("preparing bind mount of %s: %w", m.Source, err)
			}
		}
		ms.bind(p, m.Target, false)
		return nil
	}
	upper, work, merged := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("preparing bind mount: %w", err)
		}
	}
	// The upper root takes the source's owner and mode, as it is the root
	// of the mounted view.
	var sst unix.Stat_t
	if err := unix.Stat(m.Source, &sst); err != nil {
		return fmt.Errorf("bind mount source: %w", err)
	}
	if err := os.Chown(upper, int(sst.Uid), int(sst.Gid)); err != nil {
		return fmt.Errorf("preparing bind mount: %w", err)
	}
	if err := unix.Chmod(upper, sst.Mode&0o7777); err != nil {
		return fmt.Errorf("preparing bind mount: %w", err)
	}
	if err := mountOverlay([]string{m.Source}, upper, work, merged); err != nil {
		return fmt.Errorf("preparing writable bind mount of %s: %w", m.Source, err)
	}
	ms.cleanups = append(ms.cleanups, func() error { return unmount(merged) })
	ms.bind(merged, m.Target, false)
	return nil
}

// addSecret writes the secret to a private tmpfs outside the root file
// system (it never touches a disk) and binds it read-only at the target;
// and/or exposes it as an environment variable.
func (ms *mountSet) addSecret(m Mount) error {
	if m.Env != "" {
		ms.env = append(ms.env, m.Env+"="+string(m.SecretData))
	}
	if m.Target == "" {
		return nil
	}
	dir, err := ms.secretDir()
	if err != nil {
		return err
	}
	ms.n++
	p := filepath.Join(dir, "secret-"+strconv.Itoa(ms.n))
	mode := m.Mode & 0o7777
	if mode == 0 {
		mode = 0o400
	}
	if err := os.WriteFile(p, m.SecretData, 0o600); err != nil {
		return fmt.Errorf("writing secret: %w", err)
	}
	if err := os.Chown(p, int(m.UID), int(m.GID)); err != nil {
		return fmt.Errorf("writing secret: %w", err)
	}
	if err := unix.Chmod(p, mode); err != nil {
		return fmt.Errorf("writing secret: %w", err)
	}
	ms.bind(p, m.Target, true, "nosuid", "nodev", "noexec")
	return nil
}

// secretDir returns the run's private tmpfs, mounting it on first use.
func (ms *mountSet) secretDir() (string, error) {
	if ms.secrets != "" {
		return ms.secrets, nil
	}
	dir := filepath.Join(ms.dir, "secrets")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating secrets dir: %w", err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700"); err != nil {
		return "", fmt.Errorf("mounting tmpfs for secrets: %w", err)
	}
	ms.cleanups = append(ms.cleanups, func() error { return unmount(dir) })
	ms.secrets = dir
	return dir, nil
}

// sortByDepth orders user mounts so a mount inside another comes after it.
func sortByDepth(mounts []Mount) []Mount {
	out := append([]Mount(nil), mounts...)
	sort.SliceStable(out, func(i, j int) bool {
		return strings.Count(out[i].Target, "/") < strings.Count(out[j].Target, "/")
	})
	return out
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
