package build_test

import (
	"errors"
	"testing"

	"github.com/zbuild/zbuild/build"
)

func TestSelectBackend(t *testing.T) {
	tests := []struct {
		name, flag, env string
		want            string
		usage           bool
	}{
		{"explicit native", "native", "", build.BackendNative, false},
		{"explicit buildah", "buildah", "native", build.BackendBuildah, false},
		{"from the environment", "", "buildah", build.BackendBuildah, false},
		{"unknown flag", "docker", "", "", true},
		{"unknown environment value", "", "podman", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(build.BackendEnv, tt.env)
			got, err := build.SelectBackend(t.Context(), tt.flag, t.TempDir())
			var ue *build.UsageError
			if tt.usage != errors.As(err, &ue) {
				t.Fatalf("err = %v, want usage error %v", err, tt.usage)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSelectBackendAuto checks that auto picks a backend this host has, or
// explains what to install.
func TestSelectBackendAuto(t *testing.T) {
	root := t.TempDir()
	d := build.DetectBackends(t.Context(), root)
	got, err := build.SelectBackend(t.Context(), build.BackendAuto, root)
	switch {
	case d.Native == nil && got != build.BackendNative:
		t.Errorf("auto chose %q (err %v) on a host where the native engine runs", got, err)
	case d.Native != nil && d.BuildahErr == nil && got != build.BackendBuildah:
		t.Errorf("auto chose %q (err %v) with only buildah usable", got, err)
	case d.Native != nil && d.BuildahErr != nil && err == nil:
		t.Errorf("auto chose %q with no backend usable", got)
	}
}

func TestBuildahBackendRejectsUnsupportedOptions(t *testing.T) {
	_, err := build.Run(t.Context(), build.Options{ContextDir: t.TempDir(), Root: t.TempDir(), Backend: build.BackendBuildah,
		CacheTo: []build.CacheSpec{{Type: "local", Dir: t.TempDir()}}})
	var ue *build.UsageError
	if !errors.As(err, &ue) || ue.Flag != "--cache-to" {
		t.Errorf("err = %v, want a --cache-to usage error", err)
	}
}
