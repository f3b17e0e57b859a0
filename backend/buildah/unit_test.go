package buildah

import (
	"errors"
	"slices"
	"testing"

	"github.com/zbuild/zbuild/plan"
)

func ptr[T any](v T) *T { return &v }

func TestConfigArgs(t *testing.T) {
	tests := []struct {
		name string
		in   plan.Config
		want []string
		err  bool
	}{
		{"env keeps a literal dollar", plan.Config{Env: []plan.KV{{Key: "A", Value: "x $B ${C}"}}}, []string{"--env", "A=x $$B $${C}"}, false},
		{"labels ports user workdir", plan.Config{Labels: []plan.KV{{Key: "l", Value: "v"}}, ExposedPorts: []string{"80/tcp"}, User: ptr("app"), Workdir: ptr("/w")},
			[]string{"--label", "l=v", "--port", "80/tcp", "--user", "app", "--workingdir", "/w"}, false},
		{"volumes are deferred", plan.Config{Volumes: []string{"/data"}}, nil, false},
		{"cmd and cleared entrypoint", plan.Config{Cmd: ptr([]string{"a", "b c"}), Entrypoint: ptr([]string{})}, []string{"--cmd", `["a","b c"]`, "--entrypoint", ""}, false},
		{"shell", plan.Config{Shell: []string{"/bin/sh", "-ec"}}, []string{"--shell", "/bin/sh -ec"}, false},
		{"shell with a space", plan.Config{Shell: []string{"/bin/my shell"}}, nil, true},
		{"stop signal onbuild author", plan.Config{StopSignal: "SIGQUIT", OnBuild: []string{"RUN x"}, Maintainer: "me"},
			[]string{"--stop-signal", "SIGQUIT", "--onbuild", "RUN x", "--author", "me"}, false},
		{"args change nothing", plan.Config{Args: []string{"V"}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configArgs(&tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHealthcheckArgs(t *testing.T) {
	tests := []struct {
		name string
		in   plan.Healthcheck
		want []string
		err  bool
	}{
		{"exec form", plan.Healthcheck{Test: []string{"CMD", "curl", "-f", "it's"}, Interval: 5e9, Retries: 3},
			[]string{"--healthcheck", `CMD 'curl' '-f' 'it'\''s'`, "--healthcheck-interval", "5s", "--healthcheck-timeout", "0s", "--healthcheck-start-period", "0s", "--healthcheck-retries", "3"}, false},
		{"shell form", plan.Healthcheck{Test: []string{"CMD-SHELL", "true && true"}},
			[]string{"--healthcheck", "CMD-SHELL 'true && true'", "--healthcheck-interval", "0s", "--healthcheck-timeout", "0s", "--healthcheck-start-period", "0s", "--healthcheck-retries", "0"}, false},
		{"none", plan.Healthcheck{Test: []string{"NONE"}},
			[]string{"--healthcheck", "NONE", "--healthcheck-interval", "0s", "--healthcheck-timeout", "0s", "--healthcheck-start-period", "0s", "--healthcheck-retries", "0"}, false},
		{"start interval", plan.Healthcheck{Test: []string{"CMD", "x"}, StartInterval: 1}, nil, true},
		{"unknown type", plan.Healthcheck{Test: []string{"SHELL", "x"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := healthcheckArgs(&tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnsupportedTransfer(t *testing.T) {
	tests := []struct {
		name string
		t    plan.Transfer
		add  *plan.Add
		bad  bool
	}{
		{"plain copy", plan.Transfer{Sources: []string{"a"}, Dest: "/"}, nil, false},
		{"octal chmod", plan.Transfer{Sources: []string{"a"}, Chmod: "0755"}, nil, false},
		{"symbolic chmod", plan.Transfer{Sources: []string{"a"}, Chmod: "u+x"}, nil, true},
		{"parents", plan.Transfer{Sources: []string{"a"}, Parents: true}, nil, true},
		{"exclude", plan.Transfer{Sources: []string{"a"}, Exclude: []string{"*.md"}}, nil, true},
		{"add url", plan.Transfer{Sources: []string{"https://example.com/a.tgz"}}, &plan.Add{}, false},
		{"add checksum", plan.Transfer{Sources: []string{"https://example.com/a"}}, &plan.Add{Checksum: "sha256:00"}, true},
		{"add git", plan.Transfer{Sources: []string{"https://github.com/x/y.git"}}, &plan.Add{}, true},
		{"add unpack", plan.Transfer{Sources: []string{"a.tar"}}, &plan.Add{Unpack: ptr(false)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := unsupportedTransfer(&tt.t, tt.add)
			var ue *UnsupportedError
			if tt.bad != errors.As(err, &ue) {
				t.Errorf("err = %v, want unsupported %v", err, tt.bad)
			}
		})
	}
}

func TestPlainHTTP(t *testing.T) {
	for ref, want := range map[string]bool{
		"127.0.0.1:5000/busybox:latest": true,
		"localhost:5000/x":              true,
		"localhost/busybox":             true,
		"[::1]:5000/x":                  true,
		"docker.io/library/busybox":     false,
		"busybox":                       false,
		"registry.example.com:5000/x":   false,
	} {
		if got := plainHTTP(ref); got != want {
			t.Errorf("plainHTTP(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestPullFlag(t *testing.T) {
	for in, want := range map[string]string{"": "missing", "missing": "missing", "always": "always", "never": "never"} {
		if got, err := pullFlag(in); err != nil || got != want {
			t.Errorf("pullFlag(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := pullFlag("sometimes"); err == nil {
		t.Error("pullFlag accepted an unknown policy")
	}
}

func TestMountTarget(t *testing.T) {
	tests := []struct {
		m       plan.Mount
		workdir string
		want    string
	}{
		{plan.Mount{Type: plan.MountSecret, ID: "tok"}, "/", "/run/secrets/tok"},
		{plan.Mount{Type: plan.MountSSH}, "/", "/run/buildkit/ssh_agent.0"},
		{plan.Mount{Type: plan.MountCache, Target: "cache"}, "/app", "/app/cache"},
		{plan.Mount{Type: plan.MountBind, Target: "/src"}, "/app", "/src"},
	}
	for _, tt := range tests {
		if got := mountTarget(tt.m, tt.workdir); got != tt.want {
			t.Errorf("mountTarget(%+v, %q) = %q, want %q", tt.m, tt.workdir, got, tt.want)
		}
	}
}

func TestParseImageInspect(t *testing.T) {
	data := `{"OCIv1":{"config":{"Env":["X=oci"]}},"Docker":{"os":"linux","config":{"Env":["PATH=/bin"],"WorkingDir":"/w","Shell":["/bin/bash","-c"],"User":"app","OnBuild":["RUN x"]}}}`
	got, err := parseImageInspect([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Env, []string{"PATH=/bin"}) || got.WorkingDir != "/w" || got.User != "app" || got.OS != "linux" ||
		!slices.Equal(got.Shell, []string{"/bin/bash", "-c"}) || !slices.Equal(got.OnBuild, []string{"RUN x"}) {
		t.Errorf("got %+v", got)
	}
	if _, err := parseImageInspect([]byte("not json")); err == nil {
		t.Error("no error for bad output")
	}
}

func TestCommandErrorShowsCause(t *testing.T) {
	e := &CommandError{Args: []string{"copy", "--quiet", "ctr", "x"}, Output: "WARN something\nError: no such file\n", Err: errors.New("exit status 125")}
	if got, want := e.Error(), "buildah copy --quiet: Error: no such file"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
