package dockerfile

import (
	"testing"

	"github.com/zbuild/zbuild/plan"
)

func TestConfigSteps(t *testing.T) {
	base := Options{Resolver: &images{configs: map[string]ImageConfig{
		"node:22": {WorkingDir: "/usr/src", Env: []string{"NODE_VERSION=22.1.0"}},
		"bash":    {Shell: []string{"/bin/bash", "-c"}},
	}}}
	windows := Options{TargetPlatform: plan.Platform{OS: "windows", Architecture: "amd64"}}
	tests := []struct {
		name string
		src  string
		opts Options
		want string // JSON of the last step's Config
	}{
		{"env in order, expanded against the state before it", "FROM alpine\nENV A=1\nENV B=x A=2 C=${A}\n", Options{},
			`{"env":[{"key":"B","value":"x"},{"key":"A","value":"2"},{"key":"C","value":"1"}]}`},
		{"env legacy form", "FROM alpine\nENV GREETING hello world\n", Options{},
			`{"env":[{"key":"GREETING","value":"hello world"}]}`},
		{"env quoting", "FROM alpine\nENV A=\"a b\" B='$HOME' C=a\\ b\n", Options{},
			`{"env":[{"key":"A","value":"a b"},{"key":"B","value":"$HOME"},{"key":"C","value":"a b"}]}`},
		{"env sees the base image env", "FROM node:22\nENV V=v$NODE_VERSION\n", base,
			`{"env":[{"key":"V","value":"v22.1.0"}]}`},
		{"label", "FROM alpine\nARG REV=abc\nLABEL org.opencontainers.image.revision=$REV \"a b\"=c\n", Options{},
			`{"labels":[{"key":"org.opencontainers.image.revision","value":"abc"},{"key":"a b","value":"c"}]}`},
		{"expose ranges and protocols", "FROM alpine\nEXPOSE 8080 53/udp 8000-8002/tcp 9000/SCTP\n", Options{},
			`{"exposedPorts":["53/udp","8000/tcp","8001/tcp","8002/tcp","8080/tcp","9000/sctp"]}`},
		{"expose from a variable holding several ports", "FROM alpine\nENV PORTS=\"80 443\"\nEXPOSE $PORTS\n", Options{},
			`{"exposedPorts":["80/tcp","443/tcp"]}`},
		{"expose host mapping keeps the container port", "FROM alpine\nEXPOSE 127.0.0.1:8080:80/udp\n", Options{},
			`{"exposedPorts":["80/udp"]}`},
		{"volume JSON", "FROM alpine\nVOLUME [\"/data\", \"/var/log\"]\n", Options{},
			`{"volumes":["/data","/var/log"]}`},
		{"volume words", "FROM alpine\nENV D=/data\nVOLUME $D /cache\n", Options{},
			`{"volumes":["/data","/cache"]}`},
		{"user", "FROM alpine\nARG UID=1000\nUSER ${UID}:${UID}\n", Options{},
			`{"user":"1000:1000"}`},
		{"absolute workdir is kept as written, as in BuildKit", "FROM alpine\nWORKDIR /app/./src/\n", Options{},
			`{"workdir":"/app/./src/"}`},
		{"workdir relative to the previous one", "FROM alpine\nWORKDIR /app\nWORKDIR ../srv\n", Options{},
			`{"workdir":"/srv"}`},
		{"workdir relative to the base image's", "FROM node:22\nWORKDIR app\n", base,
			`{"workdir":"/usr/src/app"}`},
		{"workdir relative to the root", "FROM alpine\nWORKDIR app\n", Options{},
			`{"workdir":"/app"}`},
		{"windows workdir gets a drive", "FROM mcr.microsoft.com/windows/servercore\nWORKDIR C:\\\\app\nWORKDIR sub\n", windows,
			`{"workdir":"C:\\app\\sub"}`},
		{"shell", "FROM alpine\nSHELL [\"/bin/ash\", \"-c\"]\n", Options{},
			`{"shell":["/bin/ash","-c"]}`},
		{"cmd exec form", "FROM alpine\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n", Options{},
			`{"cmd":["nginx","-g","daemon off;"]}`},
		{"cmd shell form", "FROM alpine\nCMD nginx -g 'daemon off;'\n", Options{},
			`{"cmd":["/bin/sh","-c","nginx -g 'daemon off;'"]}`},
		{"cmd shell form after SHELL", "FROM alpine\nSHELL [\"/bin/bash\", \"-lc\"]\nCMD exec app\n", Options{},
			`{"cmd":["/bin/bash","-lc","exec app"]}`},
		{"cmd empty", "FROM alpine\nCMD []\n", Options{},
			`{"cmd":[]}`},
		{"entrypoint clears the inherited cmd", "FROM alpine\nENTRYPOINT [\"/app\"]\n", Options{},
			`{"cmd":[],"entrypoint":["/app"]}`},
		{"entrypoint keeps a cmd set in this stage", "FROM alpine\nCMD [\"--help\"]\nENTRYPOINT [\"/app\"]\n", Options{},
			`{"entrypoint":["/app"]}`},
		{"entrypoint in a child stage clears the cmd", "FROM alpine AS a\nCMD [\"x\"]\nFROM a\nENTRYPOINT [\"/app\"]\n", Options{},
			`{"cmd":[],"entrypoint":["/app"]}`},
		{"entrypoint shell form", "FROM bash\nENTRYPOINT exec /app\n", base,
			`{"cmd":[],"entrypoint":["/bin/bash","-c","exec /app"]}`},
		{"entrypoint empty clears it", "FROM alpine\nCMD [\"x\"]\nENTRYPOINT []\n", Options{},
			`{"entrypoint":[]}`},
		{"healthcheck with every option", "FROM alpine\nHEALTHCHECK --interval=30s --timeout=3s --start-period=1m --start-interval=2s --retries=5 CMD curl -f http://localhost/ || exit 1\n", Options{},
			`{"healthcheck":{"test":["CMD-SHELL","curl -f http://localhost/ || exit 1"],"interval":30000000000,"timeout":3000000000,"startPeriod":60000000000,"startInterval":2000000000,"retries":5}}`},
		{"healthcheck exec form", "FROM alpine\nHEALTHCHECK CMD [\"/bin/check\", \"-q\"]\n", Options{},
			`{"healthcheck":{"test":["CMD","/bin/check","-q"]}}`},
		{"healthcheck none", "FROM alpine\nHEALTHCHECK NONE\n", Options{},
			`{"healthcheck":{"test":["NONE"]}}`},
		{"stopsignal", "FROM alpine\nSTOPSIGNAL SIGQUIT\n", Options{},
			`{"stopSignal":"SIGQUIT"}`},
		{"stopsignal number", "FROM alpine\nARG SIG=9\nSTOPSIGNAL $SIG\n", Options{},
			`{"stopSignal":"9"}`},
		{"onbuild records the trigger", "FROM alpine\nONBUILD COPY --chown=app . /app\n", Options{},
			`{"onBuild":["COPY --chown=app . /app"]}`},
		{"onbuild with a heredoc", "FROM alpine\nONBUILD RUN <<EOF\necho hi\nEOF\n", Options{},
			`{"onBuild":["RUN <<EOF\necho hi\nEOF"]}`},
		{"maintainer", "FROM alpine\nMAINTAINER Jane Doe <jane@example.com>\n", Options{},
			`{"maintainer":"Jane Doe <jane@example.com>"}`},
		{"arg names", "FROM alpine\nARG A B=2 C\n", Options{},
			`{"args":["A","B","C"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := lastStep(t, tt.src, tt.opts)
			if step.Config == nil {
				t.Fatalf("last step %q changes more than the config", step.Text)
			}
			assertJSON(t, step.Config, tt.want)
		})
	}
}

// TestStepText checks the text and position every step carries.
func TestStepText(t *testing.T) {
	src := "FROM alpine\n  RUN echo a \\\n    b\ncopy x /y\n"
	steps := targetSteps(t, src, Options{})
	want := []struct {
		text string
		pos  plan.Pos
	}{
		{"RUN echo a     b", plan.Pos{File: "Dockerfile", Line: 2, EndLine: 3, Column: 3}},
		{"copy x /y", plan.Pos{File: "Dockerfile", Line: 4, Column: 1}},
	}
	if len(steps) != len(want) {
		t.Fatalf("got %d steps, want %d", len(steps), len(want))
	}
	for i, w := range want {
		if steps[i].Text != w.text || steps[i].Pos != w.pos {
			t.Errorf("step %d: got %q at %+v, want %q at %+v", i, steps[i].Text, steps[i].Pos, w.text, w.pos)
		}
	}
}
