package build

import (
	"encoding/csv"
	"fmt"
	"os"
	"strings"

	"github.com/zbuild/zbuild/plan"
)

// UsageError is a malformed option value; the CLI exits with status 2.
type UsageError struct {
	Flag, Value, Msg string
}

func (e *UsageError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Flag, e.Value, e.Msg)
}

// csvFields splits "a=b,c=d" the way docker's --output/--secret do,
// honouring quotes.
func csvFields(s string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(s))
	r.TrimLeadingSpace = true
	f, err := r.Read()
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ParseOutput parses one --output value: "type=oci,dest=out.tar", or a bare
// path, which docker reads as type=local,dest=PATH ("-" is a tar on stdout).
func ParseOutput(s string) (Output, error) {
	if !strings.Contains(s, "=") {
		if s == "-" {
			return Output{Type: "tar", Dest: "-"}, nil
		}
		return Output{Type: "local", Dest: s}, nil
	}
	fields, err := csvFields(s)
	if err != nil {
		return Output{}, &UsageError{"--output", s, err.Error()}
	}
	out := Output{Attrs: map[string]string{}}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return Output{}, &UsageError{"--output", s, fmt.Sprintf("%q is not key=value", f)}
		}
		switch strings.ToLower(k) {
		case "type":
			out.Type = v
		case "dest":
			out.Dest = v
		default:
			out.Attrs[strings.ToLower(k)] = v
		}
	}
	switch out.Type {
	case "image", "registry":
	case "oci", "docker", "tar", "local":
		if out.Dest == "" {
			return Output{}, &UsageError{"--output", s, "type=" + out.Type + " needs dest=PATH"}
		}
	case "":
		return Output{}, &UsageError{"--output", s, "missing type= (one of image, oci, docker, tar, local)"}
	default:
		return Output{}, &UsageError{"--output", s, "unknown type " + out.Type + " (want image, oci, docker, tar or local)"}
	}
	return out, nil
}

// ParseSecret parses one --secret value: "id=NAME[,src=FILE|,env=VAR]"
// (type=file|env is accepted too). With neither src nor env, an environment
// variable named like the id is used if set, else a file of that name, as
// docker buildx does.
func ParseSecret(s string) (Secret, error) {
	fields, err := csvFields(s)
	if err != nil {
		return Secret{}, &UsageError{"--secret", s, err.Error()}
	}
	var sec Secret
	typ := ""
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return Secret{}, &UsageError{"--secret", s, fmt.Sprintf("%q is not key=value", f)}
		}
		switch strings.ToLower(k) {
		case "id":
			sec.ID = v
		case "src", "source":
			sec.Src = v
		case "env":
			sec.Env = v
		case "type":
			if v != "file" && v != "env" {
				return Secret{}, &UsageError{"--secret", s, "type must be file or env"}
			}
			typ = v
		default:
			return Secret{}, &UsageError{"--secret", s, "unknown key " + k + " (want id, src, env, type)"}
		}
	}
	if sec.ID == "" {
		return Secret{}, &UsageError{"--secret", s, "missing id="}
	}
	if sec.Src != "" && sec.Env != "" {
		return Secret{}, &UsageError{"--secret", s, "give src= or env=, not both"}
	}
	if typ == "env" && sec.Env == "" {
		sec.Env, sec.Src = sec.Src, ""
		if sec.Env == "" {
			sec.Env = sec.ID
		}
	}
	if sec.Src == "" && sec.Env == "" {
		if _, ok := os.LookupEnv(sec.ID); ok && typ != "file" {
			sec.Env = sec.ID
		} else {
			sec.Src = sec.ID
		}
	}
	return sec, nil
}

// ParseSSH parses one --ssh value: "default", "ID=PATH[,PATH…]".
func ParseSSH(s string) (SSH, error) {
	id, rest, _ := strings.Cut(s, "=")
	if id == "" {
		return SSH{}, &UsageError{"--ssh", s, "want default or ID[=SOCKET|KEY[,…]]"}
	}
	out := SSH{ID: id}
	if rest != "" {
		out.Paths = strings.Split(rest, ",")
	}
	return out, nil
}

// ParsePlatform parses "os/arch[/variant]" (also "linux/arm64/v8").
func ParsePlatform(s string) (plan.Platform, error) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return plan.Platform{}, &UsageError{"--platform", s, "want os/arch[/variant], e.g. linux/amd64"}
	}
	p := plan.Platform{OS: strings.ToLower(parts[0]), Architecture: strings.ToLower(parts[1])}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// ParseKeyValues parses repeated KEY=VALUE flags (--build-arg, --label).
// A bare KEY takes its value from the environment when lookup finds it and
// is dropped otherwise, as docker does for --build-arg.
func ParseKeyValues(flag string, values []string, lookup func(string) (string, bool)) (map[string]string, error) {
	out := make(map[string]string, len(values))
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, &UsageError{flag, kv, "want KEY=VALUE"}
		}
		if !ok {
			if lookup == nil {
				out[k] = ""
				continue
			}
			if ev, found := lookup(k); found {
				out[k] = ev
			}
			continue
		}
		out[k] = v
	}
	return out, nil
}
