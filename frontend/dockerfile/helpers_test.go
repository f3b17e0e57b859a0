package dockerfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zbuild/zbuild/plan"
)

// amd64 is the platform tests pin, so results do not depend on the host.
var amd64 = plan.Platform{OS: "linux", Architecture: "amd64"}

// pinned fills in platforms so results do not depend on the host.
func pinned(opts Options) Options {
	if opts.TargetPlatform == (plan.Platform{}) {
		opts.TargetPlatform = amd64
	}
	if opts.BuildPlatform == (plan.Platform{}) {
		opts.BuildPlatform = amd64
	}
	return opts
}

// convert converts src and fails the test on any error.
func convert(t *testing.T, src string, opts Options) *Result {
	t.Helper()
	res, err := Convert(context.Background(), []byte(src), pinned(opts))
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	if err := res.Graph.Validate(); err != nil {
		t.Fatalf("invalid graph: %v", err)
	}
	return res
}

// convertErr converts src and returns its error, failing the test when
// there is none or it is not an *Error.
func convertErr(t *testing.T, src string, opts Options) *Error {
	t.Helper()
	_, err := Convert(context.Background(), []byte(src), pinned(opts))
	if err == nil {
		t.Fatalf("Convert succeeded, want an error")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e
}

// targetSteps are the steps of the target stage.
func targetSteps(t *testing.T, src string, opts Options) []plan.Step {
	t.Helper()
	g := convert(t, src, opts).Graph
	return g.Stages[g.Target].Steps
}

// lastStep is the last step of the target stage.
func lastStep(t *testing.T, src string, opts Options) plan.Step {
	t.Helper()
	steps := targetSteps(t, src, opts)
	if len(steps) == 0 {
		t.Fatalf("target stage has no steps")
	}
	return steps[len(steps)-1]
}

// images is an ImageResolver over fixed configs, standing in for the
// engine's store and registry. It records what it was asked for.
type images struct {
	configs map[string]ImageConfig
	asked   []string
}

func (im *images) ResolveImageConfig(_ context.Context, ref string, p plan.Platform) (ImageConfig, error) {
	im.asked = append(im.asked, ref+"@"+p.String())
	cfg, ok := im.configs[ref]
	if !ok {
		return ImageConfig{}, fmt.Errorf("%s: not found", ref)
	}
	return cfg, nil
}

// jsonOf encodes v compactly, without HTML escapes, for comparisons.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding: %v", err)
	}
	return strings.TrimSpace(b.String())
}

// assertJSON compares v's JSON with want (any formatting).
func assertJSON(t *testing.T, v any, want string) {
	t.Helper()
	var w bytes.Buffer
	if err := json.Compact(&w, []byte(want)); err != nil {
		t.Fatalf("bad want JSON %s: %v", want, err)
	}
	if got := jsonOf(t, v); got != w.String() {
		t.Errorf("got  %s\nwant %s", got, w.String())
	}
}
