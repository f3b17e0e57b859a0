package dockerfile

import (
	"slices"
	"testing"

	"github.com/zbuild/zbuild/plan"
)

// TestArgScoping checks what words expand to, through the value an ENV
// instruction records as the last step.
func TestArgScoping(t *testing.T) {
	arm := Options{TargetPlatform: plan.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}}
	tests := []struct {
		name string
		src  string
		opts Options
		want string // the value of the last ENV's V
	}{
		{"global arg is not visible without redeclaring",
			"ARG G=g\nFROM alpine\nENV V=[$G]\n", Options{}, "[]"},
		{"redeclared global takes the global value",
			"ARG G=g\nFROM alpine\nARG G\nENV V=[$G]\n", Options{}, "[g]"},
		{"redeclared global takes the build arg",
			"ARG G=g\nFROM alpine\nARG G\nENV V=[$G]\n", Options{BuildArgs: map[string]string{"G": "cli"}}, "[cli]"},
		{"stage default is overridden by the build arg",
			"FROM alpine\nARG A=def\nENV V=$A\n", Options{BuildArgs: map[string]string{"A": "cli"}}, "cli"},
		{"stage default beats the global value",
			"ARG A=global\nFROM alpine\nARG A=stage\nENV V=$A\n", Options{}, "stage"},
		{"empty build arg is a value",
			"FROM alpine\nARG A=def\nENV V=[$A]\n", Options{BuildArgs: map[string]string{"A": ""}}, "[]"},
		{"defaults expand earlier args",
			"FROM alpine\nARG A=a\nARG B=${A}b\nENV V=$B\n", Options{}, "ab"},
		{"global defaults expand earlier globals and build args",
			"ARG A=a\nARG B=${A}-b\nFROM alpine\nARG B\nENV V=$B\n", Options{BuildArgs: map[string]string{"A": "x"}}, "x-b"},
		{"env takes precedence over arg",
			"FROM alpine\nENV X=env\nARG X=arg\nENV V=$X\n", Options{}, "env"},
		{"arg declared without value is empty",
			"FROM alpine\nARG A\nENV V=[${A}]\n", Options{}, "[]"},
		{"a stage inherits the args of its base stage",
			"FROM alpine AS base\nARG A=inherited\nFROM base\nENV V=$A\n", Options{}, "inherited"},
		{"args do not leak to unrelated stages",
			"FROM alpine AS one\nARG A=one\nFROM alpine\nENV V=[$A]\n", Options{}, "[]"},
		{"platform args need declaring in a stage",
			"FROM alpine\nENV V=[$TARGETARCH]\n", Options{}, "[]"},
		{"declared platform args",
			"FROM alpine\nARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDARCH\nENV V=$TARGETPLATFORM,$TARGETOS,$TARGETARCH,$TARGETVARIANT,$BUILDPLATFORM,$BUILDARCH\n",
			arm, "linux/arm/v7,linux,arm,v7,linux/amd64,amd64"},
		{"TARGETSTAGE names the target",
			"FROM alpine AS first\nFROM alpine AS second\nARG TARGETSTAGE\nENV V=$TARGETSTAGE\n", Options{}, "second"},
		{"platform args can be overridden",
			"FROM alpine\nARG TARGETARCH\nENV V=$TARGETARCH\n", Options{BuildArgs: map[string]string{"TARGETARCH": "riscv64"}}, "riscv64"},
		{"the base image env is visible",
			"FROM node\nENV V=$NODE_VERSION\n", Options{Resolver: &images{configs: map[string]ImageConfig{"node": {Env: []string{"NODE_VERSION=22"}}}}}, "22"},
		{"PATH is set by default",
			"FROM scratch\nENV V=$PATH\n", Options{}, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{"default modifier", "FROM alpine\nENV V=${UNSET:-fallback}\n", Options{}, "fallback"},
		{"alternate modifier", "FROM alpine\nARG A=1\nENV V=${A:+set}\n", Options{}, "set"},
		{"prefix removal", "FROM alpine\nARG A=v1.2.3\nENV V=${A#v}\n", Options{}, "1.2.3"},
		{"longest suffix removal", "FROM alpine\nARG A=a.b.c\nENV V=${A%%.*}\n", Options{}, "a"},
		{"substitution", "FROM alpine\nARG A=a-b-c\nENV V=${A//-/_}\n", Options{}, "a_b_c"},
		{"single quotes do not expand", "FROM alpine\nARG A=1\nENV V='$A'\n", Options{}, "$A"},
		{"escaped dollar", "FROM alpine\nARG A=1\nENV V=\\$A\n", Options{}, "$A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := lastStep(t, tt.src, tt.opts)
			if step.Config == nil || len(step.Config.Env) == 0 {
				t.Fatalf("last step %q is not an ENV", step.Text)
			}
			if got := step.Config.Env[len(step.Config.Env)-1].Value; got != tt.want {
				t.Errorf("V = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestFromArgs checks global args in FROM lines.
func TestFromArgs(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		opts     Options
		base     plan.Base
		platform plan.Platform
	}{
		{"global default", "ARG V=3.20\nFROM alpine:${V}\n", Options{},
			plan.Base{Kind: plan.BaseImage, Ref: "alpine:3.20"}, amd64},
		{"build arg override", "ARG V=3.20\nFROM alpine:${V}\n", Options{BuildArgs: map[string]string{"V": "3.21"}},
			plan.Base{Kind: plan.BaseImage, Ref: "alpine:3.21"}, amd64},
		{"whole image from args", "ARG REGISTRY=docker.io\nARG IMAGE=${REGISTRY}/library/golang\nFROM ${IMAGE}:1.22-alpine\n", Options{},
			plan.Base{Kind: plan.BaseImage, Ref: "docker.io/library/golang:1.22-alpine"}, amd64},
		{"platform from build platform", "FROM --platform=$BUILDPLATFORM golang\n", Options{BuildPlatform: plan.Platform{OS: "linux", Architecture: "arm64"}},
			plan.Base{Kind: plan.BaseImage, Ref: "golang"}, plan.Platform{OS: "linux", Architecture: "arm64"}},
		{"platform is normalised", "ARG P=linux/aarch64\nFROM --platform=${P} golang\n", Options{},
			plan.Base{Kind: plan.BaseImage, Ref: "golang"}, plan.Platform{OS: "linux", Architecture: "arm64"}},
		{"target platform option", "FROM alpine\n", Options{TargetPlatform: plan.Platform{OS: "linux", Architecture: "arm"}},
			plan.Base{Kind: plan.BaseImage, Ref: "alpine"}, plan.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
		{"stage base takes the stage's platform", "FROM --platform=linux/s390x alpine AS a\nFROM --platform=linux/arm64 a\n", Options{},
			plan.Base{Kind: plan.BaseStage, Stage: 0}, plan.Platform{OS: "linux", Architecture: "s390x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := convert(t, tt.src, tt.opts).Graph
			st := g.Stages[g.Target]
			if st.Base != tt.base || st.Platform != tt.platform {
				t.Errorf("base %+v platform %v, want %+v %v", st.Base, st.Platform, tt.base, tt.platform)
			}
		})
	}
}

func TestUnusedBuildArgs(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		opts   Options
		unused []string
	}{
		{"declared in the target", "FROM alpine\nARG A\n", Options{BuildArgs: map[string]string{"A": "1", "B": "2"}}, []string{"B"}},
		{"global used in FROM", "ARG V\nFROM alpine:$V\n", Options{BuildArgs: map[string]string{"V": "3"}}, nil},
		{"global declared but unused", "ARG V\nFROM alpine\n", Options{BuildArgs: map[string]string{"V": "3"}}, []string{"V"}},
		{"global used through another global", "ARG A\nARG B=${A}x\nFROM alpine:$B\n", Options{BuildArgs: map[string]string{"A": "3"}}, nil},
		{"global used in FROM --platform", "ARG P\nFROM --platform=$P alpine\n", Options{BuildArgs: map[string]string{"P": "linux/arm64"}}, nil},
		{"declared in a stage the target does not need", "FROM alpine AS other\nARG A\nFROM alpine\n", Options{BuildArgs: map[string]string{"A": "1"}}, []string{"A"}},
		{"declared in a stage the target copies from", "FROM alpine AS dep\nARG A\nFROM alpine\nCOPY --from=dep / /\n", Options{BuildArgs: map[string]string{"A": "1"}}, nil},
		{"predefined and proxy args are never unused", "FROM alpine\n",
			Options{BuildArgs: map[string]string{"HTTP_PROXY": "x", "no_proxy": "y", "TARGETARCH": "arm64", "SOURCE_DATE_EPOCH": "0"}}, nil},
		{"sorted", "FROM alpine\n", Options{BuildArgs: map[string]string{"Z": "", "A": "", "M": ""}}, []string{"A", "M", "Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := convert(t, tt.src, tt.opts)
			if !slices.Equal(res.UnusedBuildArgs, tt.unused) {
				t.Errorf("unused %q, want %q", res.UnusedBuildArgs, tt.unused)
			}
			var warned bool
			for _, w := range res.Warnings {
				warned = warned || w.RuleName == "UnusedBuildArgs"
			}
			if warned != (len(tt.unused) > 0) {
				t.Errorf("UnusedBuildArgs warning: %v, want %v (%+v)", warned, len(tt.unused) > 0, res.Warnings)
			}
		})
	}
}
