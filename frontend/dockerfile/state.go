package dockerfile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/util/system"

	"github.com/zbuild/zbuild/plan"
)

// state is what a stage's instructions see and change while it is
// converted: the image config so far and the ARGs in scope.
type state struct {
	// os decides the default shell and path rules ("linux", "windows").
	os string
	// env is the image environment: the base's, then ENV.
	env envList
	// args are the ARGs in scope, in declaration order; a stage built on
	// another inherits its ARGs, as in BuildKit.
	args []argDecl
	// workdir is normalised as BuildKit does ("/app", or "\app" on
	// Windows); "" means the root.
	workdir string
	// workdirSet: an earlier WORKDIR of this Dockerfile set the workdir
	// (WorkdirRelativePath only checks the first one).
	workdirSet bool
	shell      []string
	// Per-stage trackers; not inherited by stages built on this one.
	cmd, entrypoint, healthcheck onceTracker
}

// initialState is the state a stage starts from: its base stage's final
// state, or its base image's config. It returns a usable state even with an
// error (a base workdir it cannot normalise is then left out).
func (c *converter) initialState(s *stage) (*state, error) {
	var st *state
	var err error
	if s.base.Kind == plan.BaseStage {
		base := c.stages[s.base.Stage].final
		st = &state{
			os:         base.os,
			env:        base.env.clone(),
			args:       slices.Clone(base.args),
			workdir:    base.workdir,
			workdirSet: base.workdirSet,
			shell:      slices.Clone(base.shell),
		}
	} else {
		cfg := s.config
		st = &state{os: cfg.OS, env: envFromSlice(cfg.Env), shell: slices.Clone(cfg.Shell)}
		if st.os == "" {
			st.os = s.platform.OS
		}
		if cfg.WorkingDir != "" {
			wd, werr := system.NormalizeWorkdir("", cfg.WorkingDir, st.os)
			if werr != nil {
				err = c.errorAt(s.def.Location, fmt.Errorf("base image workdir %q: %w", cfg.WorkingDir, werr))
			}
			st.workdir = wd
		}
	}
	// BuildKit makes sure PATH is set, except on Windows where it is left
	// to the OS.
	if _, ok := st.env.Get("PATH"); !ok && st.os != "windows" {
		st.env.set("PATH", system.DefaultPathEnv(st.os))
	}
	return st, err
}

// expansionEnv is what words are expanded against: the ARGs in scope that
// have a value, with the image environment taking precedence.
func (st *state) expansionEnv() envList {
	var env envList
	for _, a := range st.args {
		if a.value != nil {
			env.set(a.key, *a.value)
		}
	}
	for _, kv := range st.env {
		env.set(kv.Key, kv.Value)
	}
	return env
}

// declared reports whether an ARG of this name is in scope.
func (st *state) declared(key string) bool {
	for _, a := range st.args {
		if a.key == key {
			return true
		}
	}
	return false
}

// buildArgs are the ARG values passed to a RUN: each name once, at its
// first declaration, with its latest value; then the proxy args not
// declared.
func (st *state) buildArgs(proxies []plan.KV) []plan.KV {
	var out []plan.KV
	at := map[string]int{}
	for _, a := range st.args {
		if a.value == nil {
			continue
		}
		if i, ok := at[a.key]; ok {
			out[i].Value = *a.value
			continue
		}
		at[a.key] = len(out)
		out = append(out, plan.KV{Key: a.key, Value: *a.value})
	}
	for _, p := range proxies {
		if _, ok := at[p.Key]; !ok {
			out = append(out, p)
		}
	}
	return out
}

// defaultShell is the shell of shell-form commands when neither SHELL nor
// the base image set one.
func defaultShell(os string) []string {
	if os == "windows" {
		return []string{"cmd", "/S", "/C"}
	}
	return []string{"/bin/sh", "-c"}
}

// withShell turns shell-form words into argv: the shell, then the words
// joined by spaces.
func (st *state) withShell(words []string) []string {
	sh := slices.Clone(st.shell)
	if len(sh) == 0 {
		sh = defaultShell(st.os)
	}
	return append(sh, strings.Join(words, " "))
}

// planWorkdir is a normalised workdir as the plan wants it: absolute, with
// a drive on Windows (BuildKit's "\app" is "C:\app").
func (st *state) planWorkdir() string {
	wd := st.workdir
	if st.os == "windows" {
		if wd == "" {
			wd = `\`
		}
		if strings.HasPrefix(wd, `\`) {
			wd = "C:" + wd
		}
		return wd
	}
	if wd == "" {
		return "/"
	}
	return wd
}

// unixWorkdir is the workdir with forward slashes and no drive, for joining
// container paths.
func (st *state) unixWorkdir() string {
	if st.workdir == "" {
		return "/"
	}
	return system.ToSlash(st.workdir, st.os)
}
