//go:build linux

package linux

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// defaultHostname is the container's host name when RunSpec.Hostname is empty.
const defaultHostname = "zbuild"

// hostResolvConf is read for the container's resolver configuration.
const hostResolvConf = "/etc/resolv.conf"

// systemdResolvConf lists the real upstream servers when the host's
// /etc/resolv.conf points at systemd-resolved's loopback stub.
const systemdResolvConf = "/run/systemd/resolve/resolv.conf"

// fallbackNameservers are used when no host nameserver is reachable from
// the container, as Docker does.
var fallbackNameservers = []string{"8.8.8.8", "8.8.4.4"}

func hostsFile(hostname string) []byte {
	return fmt.Appendf(nil, "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", hostname)
}

// resolvConf is the host's resolver configuration for a container. With
// its own network namespace the container cannot reach loopback
// nameservers, so those are dropped (and replaced when none is left).
func resolvConf(privateNetns bool) ([]byte, error) {
	data, err := os.ReadFile(hostResolvConf)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("reading host resolv.conf: %w", err)
	}
	if !privateNetns {
		return data, nil
	}
	out, n := filterLoopback(data)
	if n == 0 {
		if alt, err := os.ReadFile(systemdResolvConf); err == nil {
			if alt, n = filterLoopback(alt); n > 0 {
				return alt, nil
			}
		}
		for _, ns := range fallbackNameservers {
			out = fmt.Appendf(out, "nameserver %s\n", ns)
		}
	}
	return out, nil
}

// filterLoopback drops loopback nameserver lines and counts the others.
func filterLoopback(data []byte) ([]byte, int) {
	var out bytes.Buffer
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if addr, err := netip.ParseAddr(f[1]); err == nil && addr.IsLoopback() {
				continue
			}
			n++
		}
		out.WriteString(line + "\n")
	}
	return out.Bytes(), n
}
