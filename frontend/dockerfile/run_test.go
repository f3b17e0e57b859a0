package dockerfile

import (
	"testing"

	"github.com/zbuild/zbuild/plan"
)

func TestRun(t *testing.T) {
	windows := Options{TargetPlatform: plan.Platform{OS: "windows", Architecture: "amd64"}}
	bashBase := Options{Resolver: &images{configs: map[string]ImageConfig{"base": {Shell: []string{"/bin/bash", "-eu", "-c"}}}}}
	tests := []struct {
		name string
		src  string
		opts Options
		want string // JSON of the last step's Run
	}{
		{"shell form", "FROM alpine\nRUN echo  hi\n", Options{},
			`{"args":["/bin/sh","-c","echo  hi"]}`},
		{"exec form", "FROM alpine\nRUN [\"echo\", \"hi there\"]\n", Options{},
			`{"args":["echo","hi there"]}`},
		{"line continuations", "FROM alpine\nRUN apt-get update \\\n  && apt-get install -y \\\n     curl\n", Options{},
			`{"args":["/bin/sh","-c","apt-get update   && apt-get install -y      curl"]}`},
		{"escape directive", "# escape=`\nFROM alpine\nRUN echo C:\\dir `\n  && echo done\n", Options{},
			`{"args":["/bin/sh","-c","echo C:\\dir   && echo done"]}`},
		{"SHELL instruction", "FROM alpine\nSHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN make\n", Options{},
			`{"args":["/bin/ash","-eo","pipefail","-c","make"]}`},
		{"base image shell", "FROM base\nRUN make\n", bashBase,
			`{"args":["/bin/bash","-eu","-c","make"]}`},
		{"windows default shell", "FROM mcr.microsoft.com/windows/nanoserver\nRUN dir\n", windows,
			`{"args":["cmd","/S","/C","dir"]}`},
		{"heredoc with shebang runs as a file", "FROM alpine\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n", Options{},
			`{"args":["/bin/sh","-c","/dev/pipes/EOF"],"files":[{"name":"EOF","data":"#!/usr/bin/env python3\nprint(1)\n","mode":493}]}`},
		{"chomped heredoc with shebang", "FROM alpine\nRUN <<-EOF\n\t#!/bin/sh\n\techo $HOME\n\tEOF\n", Options{},
			`{"args":["/bin/sh","-c","/dev/pipes/EOF"],"files":[{"name":"EOF","data":"#!/bin/sh\necho $HOME\n","mode":493}]}`},
		{"heredoc without shebang goes to the shell", "FROM alpine\nRUN <<EOF\nset -e\necho $HOME\nEOF\n", Options{},
			`{"args":["/bin/sh","-c","set -e\necho $HOME\n"]}`},
		{"heredoc shebang on windows goes to the shell", "FROM mcr.microsoft.com/windows/nanoserver\nRUN <<EOF\n#!x\ndir\nEOF\n", windows,
			`{"args":["cmd","/S","/C","#!x\ndir\n"]}`},
		{"heredocs inside a command", "FROM alpine\nRUN cat <<A > /a && cat <<-\"B\" > /b\nx $X\nA\n\ty\n\tB\n", Options{},
			`{"args":["/bin/sh","-c","cat <<A > /a && cat <<-\"B\" > /b\nx $X\nA\n\ty\nB"]}`},
		{"heredoc with a shell-supplied program", "FROM alpine\nRUN python3 <<EOF\nprint(1)\nEOF\n", Options{},
			`{"args":["/bin/sh","-c","python3 <<EOF\nprint(1)\nEOF"]}`},
		{"network none", "FROM alpine\nRUN --network=none true\n", Options{},
			`{"args":["/bin/sh","-c","true"],"network":"none"}`},
		{"network host", "FROM alpine\nRUN --network=host true\n", Options{},
			`{"args":["/bin/sh","-c","true"],"network":"host"}`},
		{"network default is the build's", "FROM alpine\nRUN --network=default true\n", Options{},
			`{"args":["/bin/sh","-c","true"]}`},
		{"security insecure", "FROM alpine\nRUN --security=insecure true\n", Options{},
			`{"args":["/bin/sh","-c","true"],"security":"insecure"}`},
		{"security sandbox is the default", "FROM alpine\nRUN --security=sandbox true\n", Options{},
			`{"args":["/bin/sh","-c","true"]}`},
		{"build args in declaration order", "ARG G=global\nFROM alpine\nARG B=2\nARG A=1\nARG G\nARG NOVALUE\nARG B=3\nRUN env\n", Options{},
			`{"args":["/bin/sh","-c","env"],"buildArgs":[{"key":"B","value":"3"},{"key":"A","value":"1"},{"key":"G","value":"global"}]}`},
		{"proxy args without ARG", "FROM alpine\nARG no_proxy\nRUN env\n", Options{BuildArgs: map[string]string{"https_proxy": "h", "no_proxy": "n", "FTP_PROXY": "f", "OTHER": "o"}},
			`{"args":["/bin/sh","-c","env"],"buildArgs":[{"key":"no_proxy","value":"n"},{"key":"FTP_PROXY","value":"f"},{"key":"https_proxy","value":"h"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := lastStep(t, tt.src, tt.opts)
			if step.Run == nil {
				t.Fatalf("last step %q is not a run", step.Text)
			}
			assertJSON(t, step.Run, tt.want)
		})
	}
}

func TestRunMounts(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		mount string // JSON of the last RUN's mounts
	}{
		{"bind from context is read-only",
			"FROM alpine\nRUN --mount=target=/src true\n",
			`[{"type":"bind","target":"/src","from":{},"readonly":true}]`},
		{"bind from stage (any case) with source, read-write",
			"FROM alpine AS Deps\nFROM alpine\nRUN --mount=type=bind,from=DEPS,source=/out,target=/deps,rw true\n",
			`[{"type":"bind","target":"/deps","source":"/out","from":{"kind":"stage"}}]`},
		{"bind from image",
			"FROM alpine\nRUN --mount=type=bind,from=busybox:1.36,src=bin/busybox,dst=/bb true\n",
			`[{"type":"bind","target":"/bb","source":"/bin/busybox","from":{"kind":"image","ref":"busybox:1.36"},"readonly":true}]`},
		{"relative target joins the workdir",
			"FROM alpine\nWORKDIR /app\nRUN --mount=type=cache,target=node_modules/.cache npm ci\n",
			`[{"type":"cache","target":"/app/node_modules/.cache","from":{},"id":"node_modules/.cache"}]`},
		{"cache with every option",
			"FROM alpine\nRUN --mount=type=cache,id=apt,target=/var/cache/apt,sharing=locked,mode=0700,uid=100,gid=101,ro true\n",
			`[{"type":"cache","target":"/var/cache/apt","from":{},"readonly":true,"id":"apt","sharing":"locked","mode":448,"uid":100,"gid":101}]`},
		{"cache shared sharing is the default",
			"FROM alpine\nRUN --mount=type=cache,target=/c,sharing=shared true\n",
			`[{"type":"cache","target":"/c","from":{},"id":"/c"}]`},
		{"cache from a stage",
			"FROM alpine AS seed\nFROM alpine\nRUN --mount=type=cache,target=/c,from=seed,source=/seed true\n",
			`[{"type":"cache","target":"/c","source":"/seed","from":{"kind":"stage"},"id":"/c"}]`},
		{"tmpfs with size",
			"FROM alpine\nRUN --mount=type=tmpfs,target=/tmp,size=64m true\n",
			`[{"type":"tmpfs","target":"/tmp","from":{},"size":67108864}]`},
		{"secret by id goes to /run/secrets",
			"FROM alpine\nRUN --mount=type=secret,id=npmrc cat /run/secrets/npmrc\n",
			`[{"type":"secret","target":"/run/secrets/npmrc","from":{},"readonly":true,"id":"npmrc"}]`},
		{"secret id from target",
			"FROM alpine\nRUN --mount=type=secret,target=/root/.netrc,required,mode=0440,uid=1 true\n",
			`[{"type":"secret","target":"/root/.netrc","from":{},"readonly":true,"id":".netrc","required":true,"mode":288,"uid":1}]`},
		{"secret as env only",
			"FROM alpine\nRUN --mount=type=secret,id=token,env=TOKEN,required=true true\n",
			`[{"type":"secret","from":{},"readonly":true,"id":"token","required":true,"env":"TOKEN"}]`},
		{"secret source names the id",
			"FROM alpine\nRUN --mount=type=secret,source=aws,target=/root/.aws/credentials true\n",
			`[{"type":"secret","target":"/root/.aws/credentials","from":{},"readonly":true,"id":"aws"}]`},
		{"ssh default agent",
			"FROM alpine\nRUN --mount=type=ssh git clone git@github.com:x/y\n",
			`[{"type":"ssh","from":{},"readonly":true,"id":"default"}]`},
		{"ssh with id and target",
			"FROM alpine\nRUN --mount=type=ssh,id=gh,target=/ssh.sock,required,mode=0600 true\n",
			`[{"type":"ssh","target":"/ssh.sock","from":{},"readonly":true,"id":"gh","required":true,"mode":384}]`},
		{"mount options expand stage variables",
			"FROM alpine\nENV CACHE=/root/.cache\nARG ID=pip\nRUN --mount=type=cache,id=${ID},target=${CACHE}/pip true\n",
			`[{"type":"cache","target":"/root/.cache/pip","from":{},"id":"pip"}]`},
		{"several mounts in order",
			"FROM alpine\nRUN --mount=type=tmpfs,target=/t \\\n    --mount=type=secret,id=s \\\n    true\n",
			`[{"type":"tmpfs","target":"/t","from":{}},{"type":"secret","target":"/run/secrets/s","from":{},"readonly":true,"id":"s"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := lastStep(t, tt.src, Options{})
			if step.Run == nil {
				t.Fatalf("last step %q is not a run", step.Text)
			}
			assertJSON(t, step.Run.Mounts, tt.mount)
		})
	}
}
