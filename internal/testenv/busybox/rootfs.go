package busybox

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"time"
)

// BinaryPath is where Debian's busybox-static package installs busybox.
const BinaryPath = "/bin/busybox"

// Epoch is the modification time of every entry, so that the same busybox
// binary always gives the same layer and image digests.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Users and groups in /etc/passwd and /etc/group: root, nobody, and an
// unprivileged app user for USER tests.
const (
	AppUID = 1000
	AppGID = 1000
)

const passwd = `root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
`

const group = `root:x:0:
nobody:x:65534:
app:x:1000:
`

// Entry is one file system object of the root file system.
type Entry struct {
	// Path is relative to the root, without a leading slash.
	Path string
	// Mode holds the type bits (fs.ModeDir, fs.ModeSymlink, 0 for a regular
	// file) and the permissions, including sticky.
	Mode fs.FileMode
	// Data is a regular file's content.
	Data []byte
	// Link is a symlink's target.
	Link     string
	UID, GID int
}

// Entries lists the root file system, parents before children: /bin/busybox
// with a symlink per applet, /etc/passwd and /etc/group, empty mount points
// (/proc, /sys, /dev, /etc/hosts, /etc/resolv.conf, /etc/hostname) so that a
// runtime creates no stubs in a build's upper dir, /tmp (1777), /root and
// /home/app owned by the app user.
func Entries() ([]Entry, error) {
	bin, err := os.ReadFile(BinaryPath)
	if err != nil {
		return nil, fmt.Errorf("reading busybox (install Debian's busybox-static): %w", err)
	}
	applets, err := appletNames()
	if err != nil {
		return nil, err
	}
	dir := func(p string, mode fs.FileMode) Entry { return Entry{Path: p, Mode: fs.ModeDir | mode} }
	file := func(p, data string) Entry { return Entry{Path: p, Mode: 0o644, Data: []byte(data)} }
	entries := []Entry{
		dir("bin", 0o755),
		{Path: "bin/busybox", Mode: 0o755, Data: bin},
		dir("dev", 0o755),
		dir("etc", 0o755),
		file("etc/group", group),
		file("etc/hostname", ""),
		file("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n"),
		file("etc/passwd", passwd),
		file("etc/resolv.conf", ""),
		dir("home", 0o755),
		{Path: "home/app", Mode: fs.ModeDir | 0o755, UID: AppUID, GID: AppGID},
		dir("proc", 0o555),
		dir("root", 0o700),
		dir("sys", 0o555),
		dir("tmp", 0o777|fs.ModeSticky),
		dir("usr", 0o755),
		dir("usr/bin", 0o755),
		// Scripts often start with #!/usr/bin/env.
		{Path: "usr/bin/env", Mode: fs.ModeSymlink | 0o777, Link: "/bin/busybox"},
	}
	for _, a := range applets {
		entries = append(entries, Entry{Path: "bin/" + a, Mode: fs.ModeSymlink | 0o777, Link: "busybox"})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return entries, nil
}

// appletNames asks the busybox binary which applets it has.
func appletNames() ([]string, error) {
	var out bytes.Buffer
	cmd := exec.Command(BinaryPath, "--list")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("listing busybox applets: %w", err)
	}
	var names []string
	for _, n := range strings.Fields(out.String()) {
		// Names with a slash would escape /bin; busybox is the binary itself.
		if n == "busybox" || strings.Contains(n, "/") || n != path.Clean(n) {
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("busybox --list printed no applets")
	}
	return names, nil
}
