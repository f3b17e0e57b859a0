package dockerfile

import (
	"errors"
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/util/system"
	"github.com/moby/sys/signal"

	"github.com/zbuild/zbuild/plan"
)

// unsupportedError is a Dockerfile feature zbuild does not implement; it
// matches errors.ErrUnsupported.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }
func (e *unsupportedError) Unwrap() error { return errors.ErrUnsupported }

func unsupported(format string, a ...any) error {
	return &unsupportedError{msg: fmt.Sprintf(format, a...)}
}

func envStep(st *state, c *instructions.EnvCommand, lint *linter.Linter) *plan.Config {
	cfg := &plan.Config{}
	for _, kv := range c.Env {
		if kv.NoDelim {
			lint.Run(&linter.RuleLegacyKeyValueFormat, c.Location(), linter.RuleLegacyKeyValueFormat.Format(c.Name()))
		}
		lintSecretKey("ENV", kv.Key, c.Location(), lint)
		st.env.set(kv.Key, kv.Value)
		cfg.Env = append(cfg.Env, plan.KV{Key: kv.Key, Value: kv.Value})
	}
	return cfg
}

func labelStep(c *instructions.LabelCommand, lint *linter.Linter) *plan.Config {
	cfg := &plan.Config{}
	for _, kv := range c.Labels {
		if kv.NoDelim {
			lint.Run(&linter.RuleLegacyKeyValueFormat, c.Location(), linter.RuleLegacyKeyValueFormat.Format(c.Name()))
		}
		cfg.Labels = append(cfg.Labels, plan.KV{Key: kv.Key, Value: kv.Value})
	}
	return cfg
}

func volumeStep(c *instructions.VolumeCommand) (*plan.Config, error) {
	for _, v := range c.Volumes {
		// The parser rejects empty words; an expansion can still make one.
		if v == "" {
			return nil, errors.New("VOLUME specified can not be an empty string")
		}
	}
	return &plan.Config{Volumes: c.Volumes}, nil
}

func workdirStep(st *state, c *instructions.WorkdirCommand, lint *linter.Linter) (*plan.Config, error) {
	// Only the first WORKDIR of the Dockerfile is checked: fixing it fixes
	// the relative ones after it. The base image's workdir does not count,
	// it may change under us.
	if !st.workdirSet && !system.IsAbs(c.Path, st.os) {
		lint.Run(&linter.RuleWorkdirRelativePath, c.Location(), linter.RuleWorkdirRelativePath.Format(c.Path))
	}
	st.workdirSet = true
	wd, err := system.NormalizeWorkdir(st.workdir, c.Path, st.os)
	if err != nil {
		return nil, fmt.Errorf("normalizing workdir: %w", err)
	}
	st.workdir = wd
	out := st.planWorkdir()
	return &plan.Config{Workdir: &out}, nil
}

func stopSignalStep(c *instructions.StopSignalCommand) (*plan.Config, error) {
	if _, err := signal.ParseSignal(c.Signal); err != nil {
		return nil, err
	}
	return &plan.Config{StopSignal: c.Signal}, nil
}

// argStep declares ARGs in the stage. A name with no default and no
// --build-arg takes the global ARG's value; a --build-arg beats a default.
func (c *converter) argStep(s *stage, st *state, cmd *instructions.ArgCommand, lint *linter.Linter) (*plan.Config, error) {
	cfg := &plan.Config{}
	for _, kv := range cmd.Args {
		lintSecretKey("ARG", kv.Key, cmd.Location(), lint)
		d := argDecl{key: kv.Key}
		if v, ok := c.opts.BuildArgs[kv.Key]; ok {
			d.value = &v
		} else if kv.Value != nil {
			env := st.expansionEnv()
			v, unmatched, err := c.shlex.ProcessWord(*kv.Value, env)
			lintUndefinedVars(cmd, st, env, unmatched, lint)
			if err != nil {
				return nil, err
			}
			d.value = &v
		} else if v, ok := c.globals.Get(kv.Key); ok {
			d.value = &v
		}
		if s.needed {
			c.markUsed(kv.Key)
		}
		st.args = append(st.args, d)
		cfg.Args = append(cfg.Args, kv.Key)
	}
	return cfg, nil
}
