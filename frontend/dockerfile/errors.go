package dockerfile

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/zbuild/zbuild/plan"
)

// Error is a parse or semantic error in a Dockerfile. Every error Convert
// returns is one; callers use errors.As to show it or errors.Is on Err (for
// example errors.ErrUnsupported for features zbuild does not implement).
type Error struct {
	// Pos is where the error is: the instruction's first line and the
	// column of its keyword, or of the offending flag when known. Line is 0
	// for errors about the whole file or the options (an unknown --target).
	Pos plan.Pos
	// Line is the text of source line Pos.Line.
	Line string
	// Msg says what is wrong.
	Msg string
	// Hint says how to fix it; "" when there is nothing useful to add.
	Hint string
	// Err is the underlying error, if any.
	Err error
}

// Error formats e as
//
//	Dockerfile:3:1: unknown instruction: RUNN (did you mean RUN?)
//	   3 | RUNN echo hi
//	  hint: …
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Pos.Line)
		if e.Pos.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Pos.Column)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, "\n%4d | %s", e.Pos.Line, e.Line)
	}
	if e.Hint != "" {
		b.WriteString("\n  hint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// flagInMessage finds a "--flag" named in an error message, so the error can
// point at the flag's column.
var flagInMessage = regexp.MustCompile(`--[a-zA-Z][a-zA-Z0-9-]*`)

// flagFragments map message fragments to the flag they are about, for
// messages that do not name it ("invalid network mode").
var flagFragments = []struct{ fragment, flag string }{
	{"network mode", "--network"},
	{"security", "--security"},
	{"platform", "--platform"},
	{"chmod", "--chmod"},
	{"chown", "--chown"},
	{"checksum", "--checksum"},
	{"mount", "--mount"},
	{"keep-git-dir", "--keep-git-dir"},
}

// durationFlag finds the flag named in HEALTHCHECK's duration errors
// (Interval "start-period" cannot be less than 1ms).
var durationFlag = regexp.MustCompile(`Interval "([a-z-]+)"`)

// flagsOf lists the flags an error message is about, most specific first.
func flagsOf(msg string) []string {
	var out []string
	if f := flagInMessage.FindString(msg); f != "" {
		out = append(out, f)
	}
	if m := durationFlag.FindStringSubmatch(msg); m != nil {
		out = append(out, "--"+m[1])
	}
	for _, ff := range flagFragments {
		if strings.Contains(msg, ff.fragment) {
			out = append(out, ff.flag)
		}
	}
	return out
}

// errorAt turns err into an *Error positioned at loc, the location of the
// instruction being converted. A location carried by err itself (BuildKit's
// parser.LocationError) wins. needles are texts to point the column at when
// found in the instruction's lines (a flag, a mount option); the flags the
// message is about are tried after them.
func (c *converter) errorAt(loc []parser.Range, err error, needles ...string) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	msg := err.Error()
	var le *parser.LocationError
	if errors.As(err, &le) {
		if inner := le.Unwrap(); inner != nil {
			msg = inner.Error()
		}
		if len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			loc = le.Locations[0]
		}
	}
	e = &Error{Msg: msg, Err: err, Hint: hintFor(msg)}
	e.Pos = c.src.pos(loc)
	needles = append(needles, flagsOf(msg)...)
	for _, n := range needles {
		if line, col, ok := c.src.find(loc, n); ok {
			e.Pos.Line, e.Pos.Column = line, col
			if e.Pos.EndLine <= line {
				e.Pos.EndLine = 0
			}
			break
		}
	}
	e.Line = c.src.line(e.Pos.Line)
	return e
}

// fileError is an error about the whole file or the options, with no line.
func (c *converter) fileError(msg, hint string, err error) error {
	return &Error{Pos: plan.Pos{File: c.src.file}, Msg: msg, Hint: hint, Err: err}
}

// hints map fragments of BuildKit's (and our) messages to advice. The first
// match wins, so more specific fragments come first.
var hints = []struct{ fragment, hint string }{
	{"unknown instruction", "valid instructions are ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, FROM, HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, RUN, SHELL, STOPSIGNAL, USER, VOLUME and WORKDIR"},
	{"unknown flag", "flags allowed: FROM --platform; RUN --mount, --network, --security; COPY --from, --chown, --chmod, --link, --parents, --exclude; ADD --chown, --chmod, --link, --exclude, --checksum, --keep-git-dir, --unpack; HEALTHCHECK --interval, --timeout, --start-period, --start-interval, --retries"},
	{"no build stage in current context", "start the build with FROM; only ARG and parser directives may come before the first FROM"},
	{"contains no stages to build", "add a FROM instruction after the global ARGs"},
	{"file with no instructions", "add a FROM instruction"},
	{"unterminated heredoc", "end the heredoc with a line holding only its delimiter"},
	{"parser directive", "parser directives (# syntax=, # escape=, # check=) may each appear once, at the very top of the file"},
	{"invalid escape token", "use # escape=\\ or # escape=`"},
	{"check options", "the check directive reads # check=skip=Rule1,Rule2;error=true"},
	{"mount type", "mount types are bind, cache, tmpfs, secret and ssh"},
	{"sharing", "cache sharing modes are shared, private and locked"},
	{"key=value", "write each --mount option as key=value, e.g. --mount=type=cache,target=/root/.cache"},
	{"unexpected key", "see the options of each mount type: https://docs.docker.com/reference/dockerfile/#run---mount"},
	{"invalid network mode", "network modes are default, none and host"},
	{"security", "security modes are sandbox and insecure"},
	{"variable expansion is not supported for --from", "declare ARG NAME before the first FROM, then add a stage `FROM ${NAME} AS src` and copy --from=src"},
	{"doesn't support variable expansion", "declare a stage from the image (FROM image AS name) and refer to it by name"},
	{"needs to be defined before", "move the stage you refer to above the one that uses it"},
	{"should not be blank", "give the ARG used in FROM a default value, or pass it with --build-arg"},
	{"invalid reference format", "image references look like name[:tag][@digest], in lower case"},
	{"requires the arguments to be in JSON form", `write SHELL ["executable", "parameters"]`},
	{"requires at least", "see the instruction's syntax: https://docs.docker.com/reference/dockerfile/"},
	{"requires exactly one argument", "quote the argument if it contains spaces"},
	{"chmod", "use an octal mode up to 07777 (0755) or a symbolic one (u+x)"},
	{"invalid port", "write ports as PORT[/PROTO] or START-END[/PROTO], with PROTO tcp, udp or sctp"},
	{"invalid containerPort", "write ports as PORT[/PROTO] or START-END[/PROTO], with PROTO tcp, udp or sctp"},
	{"duplicate stage name", "give each stage a unique name"},
	{"lint violation", "fix the warnings, or relax the check directive (# check=error=false or # check=skip=Rule)"},
	{"invalid signal", "use a signal name (SIGTERM) or number (15)"},
	{"not supported by zbuild", "remove the feature from the Dockerfile, or build it with BuildKit"},
	{"HEALTHCHECK", "HEALTHCHECK [--interval=… --timeout=… --start-period=… --start-interval=… --retries=…] CMD command, or HEALTHCHECK NONE"},
}

func hintFor(msg string) string {
	for _, h := range hints {
		if strings.Contains(msg, h.fragment) {
			return h.hint
		}
	}
	return ""
}
