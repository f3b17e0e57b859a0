package dockerfile

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/zbuild/zbuild/plan"
)

// exposeStep expands EXPOSE's words (each may become several) and turns
// them into "port/proto" entries, ranges expanded.
func (c *converter) exposeStep(st *state, cmd *instructions.ExposeCommand, lint *linter.Linter) (*plan.Config, error) {
	env := st.expansionEnv()
	var words []string
	for _, p := range cmd.Ports {
		ws, err := c.shlex.ProcessWords(p, env)
		if err != nil {
			return nil, err
		}
		words = append(words, ws...)
	}
	cfg := &plan.Config{}
	seen := map[string]bool{}
	for _, w := range words {
		ports, err := parseExposedPort(w, cmd.Location(), lint)
		if err != nil {
			return nil, err
		}
		for _, p := range ports {
			if !seen[p] {
				seen[p] = true
				cfg.ExposedPorts = append(cfg.ExposedPorts, p)
			}
		}
	}
	return cfg, nil
}

// parseExposedPort parses [[ip:]hostPort:]port[-end][/proto] into
// "port/proto" entries. An IP or host port is accepted but warned about
// (ExposeInvalidFormat), as in BuildKit; EXPOSE cannot publish ports.
func parseExposedPort(raw string, loc []parser.Range, lint *linter.Linter) ([]string, error) {
	ip, hostPort, containerPort := splitPortParts(raw)
	port, proto, _ := strings.Cut(containerPort, "/")
	if port == "" {
		return nil, fmt.Errorf("invalid port: %q: no port specified", raw)
	}
	switch strings.ToLower(proto) {
	case "":
		proto = "tcp"
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid port: %q: invalid proto: %s", raw, proto)
	}
	if proto != strings.ToLower(proto) {
		lint.Run(&linter.RuleExposeProtoCasing, loc, linter.RuleExposeProtoCasing.Format(raw))
	}
	if ip != "" || hostPort != "" {
		lint.Run(&linter.RuleExposeInvalidFormat, loc, linter.RuleExposeInvalidFormat.Format(raw))
	}
	if strings.HasPrefix(ip, "[") {
		host, _, err := net.SplitHostPort(ip + ":")
		if err != nil {
			return nil, fmt.Errorf("invalid IP address %v: %w", ip, err)
		}
		ip = host
	}
	if ip != "" && net.ParseIP(ip) == nil {
		return nil, errors.New("invalid IP address: " + ip)
	}
	start, end, err := parsePortRange(port)
	if err != nil {
		return nil, errors.New("invalid containerPort: " + port)
	}
	if hostPort != "" {
		hStart, hEnd, err := parsePortRange(hostPort)
		if err != nil {
			return nil, errors.New("invalid hostPort: " + hostPort)
		}
		// A host range with a single container port is a range to pick
		// from; otherwise the sizes must match.
		if end-start != hEnd-hStart && end != start {
			return nil, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", port, hostPort)
		}
	}
	proto = strings.ToLower(proto)
	out := make([]string, 0, end-start+1)
	for p := start; p <= end; p++ {
		out = append(out, strconv.Itoa(p)+"/"+proto)
	}
	return out, nil
}

// splitPortParts splits ip:hostPort:port; an IPv6 address keeps its colons.
func splitPortParts(raw string) (ip, hostPort, port string) {
	parts := strings.Split(raw, ":")
	n := len(parts)
	switch n {
	case 1:
		return "", "", parts[0]
	case 2:
		return "", parts[0], parts[1]
	default:
		return strings.Join(parts[:n-2], ":"), parts[n-2], parts[n-1]
	}
}

// parsePortRange parses "port" or "start-end" (0–65535, start <= end).
func parsePortRange(s string) (start, end int, err error) {
	if s == "" {
		return 0, 0, errors.New("empty string specified for ports")
	}
	lo, hi, isRange := strings.Cut(s, "-")
	if start, err = parsePortNumber(lo); err != nil {
		return 0, 0, err
	}
	if !isRange || lo == hi {
		return start, start, nil
	}
	if end, err = parsePortNumber(hi); err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, errors.New("invalid port range: " + s)
	}
	return start, end, nil
}

func parsePortNumber(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return int(n), nil
}
