package dockerfile

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/zbuild/zbuild/plan"
)

func TestStageGraph(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		opts   Options
		bases  []plan.Base
		names  []string
		target int
		needed []int
	}{
		{"single stage", "FROM alpine\n", Options{},
			[]plan.Base{{Kind: plan.BaseImage, Ref: "alpine"}}, []string{""}, 0, []int{0}},
		{"names are lower-cased; stage, scratch and oci-layout bases",
			"FROM golang:1.22 AS Build\nFROM build AS test\nFROM scratch AS out\nFROM oci-layout:///var/lib/layout:v1\n", Options{},
			[]plan.Base{{Kind: plan.BaseImage, Ref: "golang:1.22"}, {Kind: plan.BaseStage, Stage: 0}, {Kind: plan.BaseScratch}, {Kind: plan.BaseOCILayout, Ref: "/var/lib/layout:v1"}},
			[]string{"build", "test", "out", ""}, 3, []int{3}},
		{"FROM a later stage's name is an image",
			"FROM app\nFROM alpine AS app\n", Options{},
			[]plan.Base{{Kind: plan.BaseImage, Ref: "app"}, {Kind: plan.BaseImage, Ref: "alpine"}}, []string{"", "app"}, 1, []int{1}},
		{"a stage named scratch shadows scratch",
			"FROM alpine AS scratch\nFROM scratch\n", Options{},
			[]plan.Base{{Kind: plan.BaseImage, Ref: "alpine"}, {Kind: plan.BaseStage, Stage: 0}}, []string{"scratch", ""}, 1, []int{0, 1}},
		{"target by name, any case, with its dependencies",
			"FROM alpine AS deps\nFROM alpine AS tools\nFROM deps AS build\nRUN --mount=from=tools,target=/t true\nFROM alpine AS test\nCOPY --from=build / /\nFROM scratch\n",
			Options{Target: "Test"},
			[]plan.Base{{Kind: plan.BaseImage, Ref: "alpine"}, {Kind: plan.BaseImage, Ref: "alpine"}, {Kind: plan.BaseStage, Stage: 0}, {Kind: plan.BaseImage, Ref: "alpine"}, {Kind: plan.BaseScratch}},
			[]string{"deps", "tools", "build", "test", ""}, 3, []int{0, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := convert(t, tt.src, tt.opts).Graph
			var bases []plan.Base
			var names []string
			for i, st := range g.Stages {
				if st.Index != i {
					t.Errorf("stage %d has index %d", i, st.Index)
				}
				bases = append(bases, st.Base)
				names = append(names, st.Name)
			}
			if !slices.Equal(bases, tt.bases) || !slices.Equal(names, tt.names) {
				t.Errorf("bases %+v names %q\nwant  %+v names %q", bases, names, tt.bases, tt.names)
			}
			if g.Target != tt.target {
				t.Errorf("target %d, want %d", g.Target, tt.target)
			}
			if got := g.Needed(); !slices.Equal(got, tt.needed) {
				t.Errorf("needed %v, want %v", got, tt.needed)
			}
		})
	}
}

// TestResolverOnlyForNeededStages checks that base images of stages the
// target does not need are not resolved: resolving may mean a pull.
func TestResolverOnlyForNeededStages(t *testing.T) {
	im := &images{configs: map[string]ImageConfig{
		"golang:1.22":         {},
		"alpine":              {},
		"oci-layout://layout": {},
	}}
	src := "FROM golang:1.22 AS build\nFROM node AS unused\nFROM oci-layout://layout AS lay\nFROM --platform=linux/arm64 alpine\nCOPY --from=build /a /a\nCOPY --from=lay /b /b\n"
	convert(t, src, Options{Resolver: im})
	want := []string{"golang:1.22@linux/amd64", "oci-layout://layout@linux/amd64", "alpine@linux/arm64"}
	slices.Sort(want)
	got := slices.Clone(im.asked)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("resolved %q, want %q", got, want)
	}
}

func TestResolverError(t *testing.T) {
	e := convertErr(t, "FROM alpine\nFROM missing\n", Options{Resolver: &images{configs: map[string]ImageConfig{"alpine": {}}}})
	want := "Dockerfile:2:1: resolving base image missing: missing: not found\n   2 | FROM missing"
	if e.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", e.Error(), want)
	}
}

func TestOnBuild(t *testing.T) {
	im := &images{configs: map[string]ImageConfig{
		"onbuild-base": {OnBuild: []string{"ARG MODE=release", "COPY . /src", "RUN make $MODE"}},
		"from-stage":   {OnBuild: []string{"COPY --from=assets /a /a"}},
		"chained":      {OnBuild: []string{"ONBUILD RUN x"}},
		"from":         {OnBuild: []string{"FROM alpine"}},
		"maintainer":   {OnBuild: []string{"maintainer me"}},
		"bad":          {OnBuild: []string{"RUNN x"}},
		"alpine":       {},
	}}
	opts := Options{Resolver: im}
	t.Run("image triggers run first", func(t *testing.T) {
		steps := targetSteps(t, "FROM onbuild-base\nRUN echo done\n", opts)
		var got []string
		for _, s := range steps {
			got = append(got, s.Text)
			if s.OnBuild && s.Pos.Line != 1 {
				t.Errorf("trigger %q at line %d, want the FROM line", s.Text, s.Pos.Line)
			}
		}
		want := []string{"ARG MODE=release", "COPY . /src", "RUN make $MODE", "RUN echo done"}
		if !slices.Equal(got, want) {
			t.Errorf("steps %q, want %q", got, want)
		}
		if !steps[0].OnBuild || steps[3].OnBuild {
			t.Errorf("OnBuild flags wrong: %+v", steps)
		}
		assertJSON(t, steps[2].Run.BuildArgs, `[{"key":"MODE","value":"release"}]`)
	})
	t.Run("stage triggers run in stages built on it, once", func(t *testing.T) {
		src := "FROM alpine AS base\nONBUILD RUN echo child\nFROM base AS child\nFROM child\n"
		g := convert(t, src, Options{}).Graph
		if got := g.Stages[1].Steps; len(got) != 1 || got[0].Text != "RUN echo child" || !got[0].OnBuild || got[0].Pos.Line != 3 {
			t.Errorf("child steps %+v", got)
		}
		if got := g.Stages[2].Steps; len(got) != 0 {
			t.Errorf("grandchild steps %+v, want none", got)
		}
	})
	t.Run("a trigger can need another stage", func(t *testing.T) {
		src := "FROM alpine AS assets\nFROM from-stage\n"
		g := convert(t, src, opts).Graph
		if got := g.Needed(); !slices.Equal(got, []int{0, 1}) {
			t.Errorf("needed %v, want [0 1]", got)
		}
	})
	for _, tt := range []struct{ base, msg string }{
		{"chained", "Dockerfile:1:1: ONBUILD trigger \"ONBUILD RUN x\": Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
		{"from", `Dockerfile:1:1: ONBUILD trigger "FROM alpine": FROM isn't allowed as an ONBUILD trigger`},
		{"maintainer", `Dockerfile:1:1: ONBUILD trigger "maintainer me": MAINTAINER isn't allowed as an ONBUILD trigger`},
		{"bad", `Dockerfile:1:1: ONBUILD trigger "RUNN x": unknown instruction: RUNN (did you mean RUN?)`},
	} {
		t.Run("bad trigger "+tt.base, func(t *testing.T) {
			e := convertErr(t, "FROM "+tt.base+"\n", opts)
			if first, _, _ := strings.Cut(e.Error(), "\n"); first != tt.msg {
				t.Errorf("error %q, want %q", first, tt.msg)
			}
		})
	}
}

// TestUnneededStageErrors: a stage the target does not need is never built
// by BuildKit, so an error in it is a warning; the stage keeps the steps
// before the error, and stages built on it still convert.
func TestUnneededStageErrors(t *testing.T) {
	src := "FROM alpine AS broken\nRUN true\nRUN --mount=type=bogus,target=/x true\nRUN false\nFROM broken AS child\nRUN child\nFROM alpine\nRUN ok\n"
	res := convert(t, src, Options{})
	g := res.Graph
	if n := len(g.Stages[0].Steps); n != 1 {
		t.Errorf("broken stage has %d steps, want 1", n)
	}
	if n := len(g.Stages[1].Steps); n != 1 {
		t.Errorf("child stage has %d steps, want 1", n)
	}
	want := Warning{
		RuleName:    "StageNotConverted",
		Description: "A stage the target does not need could not be converted; it is listed with the steps before the error",
		Message:     `stage broken: unsupported mount type "bogus"`,
		Pos:         plan.Pos{File: "Dockerfile", Line: 3, Column: 18},
	}
	if len(res.Warnings) != 1 || res.Warnings[0] != want {
		t.Errorf("warnings %+v\nwant [%+v]", res.Warnings, want)
	}
	// An invalid image in an unneeded stage is a warning too.
	res = convert(t, "ARG REGISTRY\nFROM $REGISTRY/tools AS tools\nFROM alpine\n", Options{})
	if len(res.Warnings) != 2 || res.Warnings[1].RuleName != "StageNotConverted" || res.Warnings[1].Pos.Line != 2 {
		t.Errorf("warnings %+v, want InvalidDefaultArgInFrom and StageNotConverted at line 2", res.Warnings)
	}
	// The same stage as the target fails.
	e := convertErr(t, src, Options{Target: "broken"})
	if !strings.HasPrefix(e.Error(), `Dockerfile:3:18: unsupported mount type "bogus"`) {
		t.Errorf("error %v", e)
	}
}

// TestCancelled: a cancelled context stops the conversion with its error.
func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Convert(ctx, []byte("FROM alpine\nRUN true\n"), pinned(Options{}))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
