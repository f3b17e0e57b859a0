// Package linux runs build steps on Linux: overlayfs snapshots over
// unpacked layer dirs, and RUN commands through an OCI runtime (crun or
// runc) with a runtime-spec config built here; turning upper dirs into
// layers is left to package layer, and storing them to the store.
//
// # Runtime choice
//
// crun is the default when installed, runc the fallback; WithRuntime picks
// either. BenchmarkRun (`/bin/true` on busybox, stub cleanup included, 2
// shared cores under a load average of 3–6, six rounds each) measured per
// step:
//
//	crun 1.8.1   31–71 ms wall, 24–34 ms CPU of child processes
//	runc 1.1.5   48–78 ms wall, 43–59 ms CPU of child processes
//
// Wall times swing with the machine's load; the CPU cost, which is what
// competes with the build itself, is about half with crun.
//
// # crun on hybrid cgroup hosts
//
// crun 1.8.1 refuses hosts that mount cgroup v1 controllers and also the
// v2 tree at /sys/fs/cgroup/unified with controllers in it ("cgroups in
// hybrid mode not supported"); runc handles them. On such a host every crun
// invocation is started from a goroutine locked to its own OS thread that
// has unshared its mount namespace and unmounted /sys/fs/cgroup/unified
// there, so crun sees a plain cgroup v1 host. This costs one unshare and
// one umount per invocation, no extra process. The thread is never
// unlocked, so Go ends it with its goroutine; if the goroutine lands on
// the main thread (which Go never ends, and whose namespaces /proc/self
// shows), it stays untouched and hands the work to another thread.
//
// # Isolation
//
// Each step gets new pid, ipc, uts and mount namespaces, Docker's default
// capabilities, seccomp profile, masked and read-only paths and device
// rules, and a cgroup named after the run. The network is the host's
// (NetworkDefault, the outbound access `docker build` gives RUN) or an
// empty namespace with loopback (NetworkNone). /etc/hosts, /etc/resolv.conf
// and /etc/hostname are bind-mounted read-only from files outside the root
// file system. No AppArmor or SELinux label is applied.
package linux
