//go:build linux

package linux

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/zbuild/zbuild/internal/userdb"
)

// ociVersion is what the spec declares: crun 1.8.1 rejects runtime-spec
// 1.3.0's own version string, and nothing used here is newer than 1.0.2.
const ociVersion = "1.0.2"

// defaultPath is set when the environment has no PATH, as Docker does.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// maxNofile caps RLIMIT_NOFILE; the process gets min(this, our hard limit),
// since asking a runtime for more than the hard limit fails.
const maxNofile = 1 << 20

// defaultCaps is Docker's default capability set.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// allCaps names capabilities by number, for RUN --security=insecure.
var allCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Docker's masked and read-only paths.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// devices are created in the container's /dev (a tmpfs); the runtime adds
// the usual symlinks (fd, stdin, ptmx…).
var devices = []struct {
	path         string
	major, minor int64
}{
	{"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
	{"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
}

// specInput is everything a container's spec depends on.
type specInput struct {
	id       string
	rootfs   string
	args     []string
	env      []string
	cwd      string
	user     userdb.Identity
	hostname string
	netns    bool // a new, empty network namespace
	insecure bool
	mounts   []specs.Mount // after the defaults, in order
}

func buildSpec(in specInput) (*specs.Spec, error) {
	umask := uint32(0o022)
	caps := defaultCaps
	if in.insecure {
		caps = knownCaps()
	}
	nofile, err := nofileLimit()
	if err != nil {
		return nil, err
	}
	s := &specs.Spec{
		Version: ociVersion,
		Process: &specs.Process{
			Args: in.args,
			Env:  in.env,
			Cwd:  in.cwd,
			User: specs.User{UID: in.user.UID, GID: in.user.GID, AdditionalGids: in.user.Groups, Umask: &umask},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: nofile, Soft: nofile}},
		},
		Root:     &specs.Root{Path: in.rootfs},
		Hostname: in.hostname,
		Mounts:   append(defaultMounts(in.insecure), in.mounts...),
		Linux: &specs.Linux{
			// Relative: the runtime nests it under its own cgroup, so
			// the build's resource limits apply to the step.
			CgroupsPath: in.id,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
			},
			Resources: &specs.LinuxResources{Devices: deviceRules(in.insecure)},
		},
	}
	if in.netns {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	mode := os.FileMode(0o666)
	zero := uint32(0)
	for _, d := range devices {
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{
			Path: d.path, Type: "c", Major: d.major, Minor: d.minor, FileMode: &mode, UID: &zero, GID: &zero,
		})
	}
	if !in.insecure {
		s.Linux.MaskedPaths = maskedPaths
		s.Linux.ReadonlyPaths = readonlyPaths
		// The profile depends on the capabilities set above.
		if s.Linux.Seccomp, err = seccomp.GetDefaultProfile(s); err != nil {
			return nil, fmt.Errorf("building the seccomp profile: %w", err)
		}
	}
	return s, nil
}

func defaultMounts(insecure bool) []specs.Mount {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	if insecure {
		sysOpts = []string{"nosuid", "noexec", "nodev", "rw"}
	}
	// No tmpfs on /run: files a step writes there belong in the image
	// (`mkdir -p /run/nginx`), as in BuildKit (moby/buildkit#429).
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
	}
}

// deviceRules is Docker's device cgroup policy: any node may be created,
// only the standard ones opened. Insecure steps may use every device.
func deviceRules(insecure bool) []specs.LinuxDeviceCgroup {
	if insecure {
		return []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	}
	i := func(n int64) *int64 { return &n }
	rules := []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Access: "m"},
		{Allow: true, Type: "b", Access: "m"},
		{Allow: true, Type: "c", Major: i(136), Access: "rwm"},            // /dev/pts/*
		{Allow: true, Type: "c", Major: i(5), Minor: i(2), Access: "rwm"}, // /dev/ptmx
	}
	for _, d := range devices {
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i(d.major), Minor: i(d.minor), Access: "rwm"})
	}
	return rules
}

// knownCaps is every capability zbuild itself may grant: those in its own
// bounding set (a runtime cannot give a container more; inside another
// container that set is often smaller than the kernel's).
func knownCaps() []string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return defaultCaps
	}
	for _, line := range strings.Split(string(data), "\n") {
		hexBits, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		bits, err := strconv.ParseUint(strings.TrimSpace(hexBits), 16, 64)
		if err != nil {
			return defaultCaps
		}
		var caps []string
		for i, name := range allCaps {
			if bits&(1<<i) != 0 {
				caps = append(caps, name)
			}
		}
		return caps
	}
	return defaultCaps
}

func nofileLimit() (uint64, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("reading RLIMIT_NOFILE: %w", err)
	}
	return min(rl.Max, maxNofile), nil
}

// processEnv completes env: PATH and HOME are added when missing.
func processEnv(env []string, home string) []string {
	out := append([]string(nil), env...)
	has := func(name string) bool {
		for _, kv := range env {
			if strings.HasPrefix(kv, name+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		out = append(out, defaultPath)
	}
	if !has("HOME") {
		out = append(out, "HOME="+home)
	}
	return out
}
