package dockerfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/zbuild/zbuild/plan"
)

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opts Options
		want string // the first line of Error(): file:line:column: message
		line string // the quoted source line, "" when none
	}{
		{"empty file", "", Options{},
			"Dockerfile: the Dockerfile cannot be empty", ""},
		{"only comments", "# just a comment\n", Options{},
			"Dockerfile:1:1: file with no instructions", "# just a comment"},
		{"only global args", "ARG A=1\n", Options{},
			"Dockerfile:1:1: dockerfile contains no stages to build", "ARG A=1"},
		{"no FROM first", "RUN echo\n", Options{},
			"Dockerfile:1:1: no build stage in current context", "RUN echo"},
		{"unknown instruction", "FROM alpine\nRUNN echo hi\n", Options{},
			"Dockerfile:2:1: unknown instruction: RUNN (did you mean RUN?)", "RUNN echo hi"},
		{"unknown flag points at the flag", "FROM alpine\n  RUN --bogus echo hi\n", Options{},
			"Dockerfile:2:7: unknown flag: --bogus", "  RUN --bogus echo hi"},
		{"bad mount type on a continuation line", "FROM alpine\nRUN --mount=type=cache,target=/a \\\n    --mount=type=bogus,target=/b echo\n", Options{},
			`Dockerfile:3:18: unsupported mount type "bogus"`, "    --mount=type=bogus,target=/b echo"},
		{"bad mount option", "FROM alpine\nRUN --mount=type=cache,target=/a,foo=bar echo\n", Options{},
			`Dockerfile:2:34: unexpected key 'foo' in 'foo=bar' (did you mean from?)`, "RUN --mount=type=cache,target=/a,foo=bar echo"},
		{"mount option for another type", "FROM alpine\nRUN --mount=type=bind,target=/a,uid=1 echo\n", Options{},
			`Dockerfile:2:33: uid not allowed for "bind" type mounts`, "RUN --mount=type=bind,target=/a,uid=1 echo"},
		{"mount to the root", "FROM alpine\nRUN --mount=type=cache,target=/ echo\n", Options{},
			`Dockerfile:2:5: invalid mount target "/"`, "RUN --mount=type=cache,target=/ echo"},
		{"secret mount without id", "FROM alpine\nRUN --mount=type=secret echo\n", Options{},
			"Dockerfile:2:5: invalid secret mount. one of source, target required", "RUN --mount=type=secret echo"},
		{"ssh mount with source", "FROM alpine\nRUN --mount=type=ssh,source=x echo\n", Options{},
			"Dockerfile:2:5: ssh does not support source", "RUN --mount=type=ssh,source=x echo"},
		{"mount from a later stage", "FROM alpine AS first\nRUN --mount=type=bind,target=/x,from=later true\nFROM alpine AS later\n", Options{Target: "first"},
			`Dockerfile:2:5: cannot mount from stage "later" to "/x", stage needs to be defined before current command`, "RUN --mount=type=bind,target=/x,from=later true"},
		{"bad network", "FROM alpine\nRUN --network=bogus echo\n", Options{},
			`Dockerfile:2:5: invalid network mode "bogus"`, "RUN --network=bogus echo"},
		{"bad security", "FROM alpine\nRUN --security=root echo\n", Options{},
			`Dockerfile:2:5: security "root" is not valid`, "RUN --security=root echo"},
		{"empty exec form", "FROM alpine\nRUN [ ]\n", Options{},
			"Dockerfile:2:1: RUN requires a command: the JSON list is empty", "RUN [ ]"},
		{"copy from a later stage", "FROM alpine\nCOPY --from=later /a /b\nFROM alpine AS later\nFROM alpine\nCOPY --from=0 / /\n", Options{},
			`Dockerfile:2:6: cannot copy from stage "later", it needs to be defined before current stage "stage-0"`, "COPY --from=later /a /b"},
		{"copy from itself", "FROM alpine AS self\nCOPY --from=self /a /b\n", Options{},
			`Dockerfile:2:6: cannot copy from stage "self", it needs to be defined before current stage "self"`, "COPY --from=self /a /b"},
		{"copy from a variable", "FROM alpine\nCOPY --from=$X /a /b\n", Options{},
			"Dockerfile:2:6: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround", "COPY --from=$X /a /b"},
		{"copy from a bad stage index", "FROM alpine\nCOPY --from=7 /a /b\n", Options{},
			"Dockerfile:2:6: invalid stage index 7", "COPY --from=7 /a /b"},
		{"copy from a bad image", "FROM alpine\nCOPY --from=Nginx /a /b\n", Options{},
			`Dockerfile:2:6: invalid image reference "Nginx" in --from: invalid reference format: repository name (library/Nginx) must be lowercase`, "COPY --from=Nginx /a /b"},
		{"copy a URL", "FROM alpine\nCOPY https://example.com/a /b\n", Options{},
			"Dockerfile:2:1: source can't be a URL for COPY", "COPY https://example.com/a /b"},
		{"copy a git repository", "FROM alpine\nCOPY https://github.com/moby/buildkit.git /b\n", Options{},
			"Dockerfile:2:1: source can't be a git ref for COPY", "COPY https://github.com/moby/buildkit.git /b"},
		{"copy without destination", "FROM alpine\nCOPY a\n", Options{},
			"Dockerfile:2:1: COPY requires at least two arguments, but only one was provided. Destination could not be determined", "COPY a"},
		{"numeric chmod out of range", "FROM alpine\nCOPY --chmod=999 a /b\n", Options{},
			"Dockerfile:2:6: invalid chmod parameter: '999'. it should be octal string and between 0 and 07777", "COPY --chmod=999 a /b"},
		{"bad symbolic chmod", "FROM alpine\nCOPY --chmod=u+q a /b\n", Options{},
			`Dockerfile:2:6: invalid chmod parameter "u+q": invalid syntax`, "COPY --chmod=u+q a /b"},
		{"chown by name with link", "FROM alpine\nCOPY --link --chown=app a /b\n", Options{},
			"Dockerfile:2:13: --chown=app: user and group names can't be resolved when used with --link, use numeric uid[:gid] instead", "COPY --link --chown=app a /b"},
		{"checksum on a local file", "FROM alpine\nADD --checksum=sha256:abc a /b\n", Options{},
			"Dockerfile:2:5: checksum requires HTTP(S) or Git sources", "ADD --checksum=sha256:abc a /b"},
		{"checksum on COPY is an unknown flag", "FROM alpine\nCOPY --checksum=sha256:abc a /b\n", Options{},
			"Dockerfile:2:6: unknown flag: --checksum", "COPY --checksum=sha256:abc a /b"},
		{"parents on ADD is an unknown flag", "FROM alpine\nADD --parents a /b\n", Options{},
			"Dockerfile:2:5: unknown flag: --parents", "ADD --parents a /b"},
		{"bad expose protocol", "FROM alpine\nEXPOSE 80/xyz\n", Options{},
			`Dockerfile:2:1: invalid port: "80/xyz": invalid proto: xyz`, "EXPOSE 80/xyz"},
		{"expose port out of range", "FROM alpine\nEXPOSE 70000\n", Options{},
			"Dockerfile:2:1: invalid containerPort: 70000", "EXPOSE 70000"},
		{"bad stop signal", "FROM alpine\nSTOPSIGNAL SIGFOO\n", Options{},
			"Dockerfile:2:1: invalid signal: SIGFOO", "STOPSIGNAL SIGFOO"},
		{"shell not in JSON form", "FROM alpine\nSHELL /bin/bash -c\n", Options{},
			"Dockerfile:2:1: SHELL requires the arguments to be in JSON form", "SHELL /bin/bash -c"},
		{"required variable", "FROM alpine\nWORKDIR ${X:?is required}\n", Options{},
			`Dockerfile:2:1: failed to process "${X:?is required}": X: is required`, "WORKDIR ${X:?is required}"},
		{"healthcheck interval too short", "FROM alpine\nHEALTHCHECK --interval=0.1ms CMD true\n", Options{},
			`Dockerfile:2:13: Interval "interval" cannot be less than 1ms`, "HEALTHCHECK --interval=0.1ms CMD true"},
		{"healthcheck unknown type", "FROM alpine\nHEALTHCHECK FOO true\n", Options{},
			`Dockerfile:2:1: Unknown type "FOO" in HEALTHCHECK (try CMD)`, "HEALTHCHECK FOO true"},
		{"volume expanding to nothing", "FROM alpine\nVOLUME $NOTHING\n", Options{},
			"Dockerfile:2:1: VOLUME specified can not be an empty string", "VOLUME $NOTHING"},
		{"onbuild onbuild", "FROM alpine\nONBUILD ONBUILD RUN x\n", Options{},
			"Dockerfile:2:1: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", "ONBUILD ONBUILD RUN x"},
		{"onbuild from", "FROM alpine\nONBUILD FROM x\n", Options{},
			"Dockerfile:2:1: FROM isn't allowed as an ONBUILD trigger", "ONBUILD FROM x"},
		{"unterminated heredoc", "FROM alpine\nRUN <<EOF\necho\n", Options{},
			"Dockerfile:2:1: unterminated heredoc", "RUN <<EOF"},
		{"bad escape directive", "# escape=x\nFROM alpine\n", Options{},
			"Dockerfile:1:1: invalid escape token 'x' does not match ` or \\", "# escape=x"},
		{"repeated directive", "# escape=`\n# escape=\\\nFROM alpine\n", Options{},
			"Dockerfile:2:1: only one escape parser directive can be used", `# escape=\`},
		{"bad check directive", "# check=skip=all;bogus=1\nFROM alpine\n", Options{},
			`Dockerfile:1:1: failed to parse check options: invalid check option "bogus"`, "# check=skip=all;bogus=1"},
		{"blank base", "ARG IMG\nFROM ${IMG}\n", Options{},
			"Dockerfile:2:1: base name (${IMG}) should not be blank", "FROM ${IMG}"},
		{"bad base reference", "FROM Alpine\n", Options{},
			`Dockerfile:1:1: invalid base image reference "Alpine": invalid reference format: repository name (library/Alpine) must be lowercase`, "FROM Alpine"},
		{"empty oci layout", "FROM oci-layout://\n", Options{},
			"Dockerfile:1:1: oci-layout:// needs a directory: oci-layout://", "FROM oci-layout://"},
		{"bad platform", "FROM --platform=linux/bogus/x/y alpine\n", Options{},
			`Dockerfile:1:6: failed to parse platform linux/bogus/x/y: "linux/bogus/x/y": cannot parse platform specifier: invalid argument`, "FROM --platform=linux/bogus/x/y alpine"},
		{"empty platform suggests an arg", "ARG PLATFORM=linux/arm64\nFROM --platform=$PLATFORMS alpine\n", Options{},
			"Dockerfile:2:6: empty platform value from expression $PLATFORMS (did you mean PLATFORM?)", "FROM --platform=$PLATFORMS alpine"},
		{"bad stage name", "FROM alpine AS 1bad\n", Options{},
			`Dockerfile:1:1: invalid name for build stage: "1bad", name can't start with a number or contain symbols`, "FROM alpine AS 1bad"},
		{"FROM arity", "FROM a b c d\n", Options{},
			"Dockerfile:1:1: FROM requires either one or three arguments", "FROM a b c d"},
		{"duplicate stage names", "FROM alpine AS a\nFROM busybox AS A\n", Options{},
			`Dockerfile:2:1: duplicate stage name "a", stage names should be unique`, "FROM busybox AS A"},
		{"unknown target suggests", "FROM alpine AS build\nFROM alpine AS test\n", Options{Target: "buidl"},
			`Dockerfile: target stage "buidl" could not be found (did you mean build?)`, ""},
		{"unknown target without named stages", "FROM alpine\n", Options{Target: "x"},
			`Dockerfile: target stage "x" could not be found`, ""},
		{"filename option", "FROM alpine\nRUNN x\n", Options{Filename: "build/app.Containerfile"},
			"build/app.Containerfile:2:1: unknown instruction: RUNN (did you mean RUN?)", "RUNN x"},
		{"windows escape", "# escape=`\nFROM mcr.microsoft.com/windows/nanoserver\nRUN --mount=type=cache,target=C:\\\\cache,uid=x dir\n", Options{TargetPlatform: plan.Platform{OS: "windows", Architecture: "amd64"}},
			"Dockerfile:3:5: invalid value x for uid", "RUN --mount=type=cache,target=C:\\\\cache,uid=x dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := convertErr(t, tt.src, tt.opts)
			got := e.Error()
			first, rest, _ := strings.Cut(got, "\n")
			if first != tt.want {
				t.Errorf("error:\n%s\nwant first line:\n%s", got, tt.want)
			}
			if e.Line != tt.line {
				t.Errorf("Line %q, want %q", e.Line, tt.line)
			}
			if tt.line != "" && !strings.HasPrefix(rest, "   ") {
				t.Errorf("error does not quote the line:\n%s", got)
			}
		})
	}
}

// TestErrorFormat checks the whole text: position, quoted line and hint.
func TestErrorFormat(t *testing.T) {
	e := convertErr(t, "FROM alpine\nRUN true\nRUNN echo hi\n", Options{})
	want := "Dockerfile:3:1: unknown instruction: RUNN (did you mean RUN?)\n" +
		"   3 | RUNN echo hi\n" +
		"  hint: valid instructions are ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, FROM, HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, RUN, SHELL, STOPSIGNAL, USER, VOLUME and WORKDIR"
	if e.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", e.Error(), want)
	}
	if e.Pos != (plan.Pos{File: "Dockerfile", Line: 3, Column: 1}) || e.Msg != "unknown instruction: RUNN (did you mean RUN?)" || e.Err == nil {
		t.Errorf("fields %+v", e)
	}
}

// TestUnsupportedErrors checks that features zbuild lacks say so and match
// errors.ErrUnsupported.
func TestUnsupportedErrors(t *testing.T) {
	for _, src := range []string{
		"FROM alpine\nRUN --device=gpu nvidia-smi\n",
		"FROM alpine\nCOPY --from=scratch / /\n",
		"FROM alpine\nRUN --mount=type=bind,from=scratch,target=/x true\n",
	} {
		e := convertErr(t, src, Options{})
		if !errors.Is(e, errors.ErrUnsupported) || !strings.Contains(e.Msg, "not supported by zbuild") {
			t.Errorf("%q: error %v does not say it is unsupported", src, e)
		}
	}
}

// TestNotText checks that binary input is rejected before BuildKit's lexer
// sees it (it would print to stderr).
func TestNotText(t *testing.T) {
	for _, tt := range []struct {
		src, want string
	}{
		{"FROM alpine\nENV A=\xff\n", "Dockerfile:2:7: the Dockerfile is not UTF-8 text (invalid or NUL byte)"},
		{"FROM alpine\nRUN x\x00\n", "Dockerfile:2:6: the Dockerfile is not UTF-8 text (invalid or NUL byte)"},
	} {
		e := convertErr(t, tt.src, Options{})
		if first, _, _ := strings.Cut(e.Error(), "\n"); first != tt.want {
			t.Errorf("%q: error %q, want %q", tt.src, first, tt.want)
		}
	}
}
