package dockerfile

import (
	"errors"
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/zbuild/zbuild/plan"
)

// dispatchStage converts a stage's instructions into steps, in order. The
// stage's final state is set even on error: stages built on it need one.
func (c *converter) dispatchStage(s *stage) error {
	st, err := c.initialState(s)
	s.final = st
	if err != nil {
		return err
	}
	lint := c.quiet
	if s.needed {
		lint = c.lint
	}
	for _, cmd := range s.cmds {
		step, err := c.dispatch(s, st, cmd, lint.WithMergedConfigFromComments(cmd.Comments()))
		if err != nil {
			return c.errorAt(cmd.Location(), err)
		}
		s.steps = append(s.steps, step)
	}
	return nil
}

// warnUnbuilt reports a stage the target does not need that failed to
// convert. BuildKit never converts such stages, so the build must not fail;
// the stage is listed with the steps before the failure.
func (c *converter) warnUnbuilt(s *stage, err error) {
	w := Warning{
		RuleName:    "StageNotConverted",
		Description: "A stage the target does not need could not be converted; it is listed with the steps before the error",
		Message:     fmt.Sprintf("stage %s: %v", s.displayName(), err),
		Pos:         s.pos,
	}
	var e *Error
	if errors.As(err, &e) {
		w.Message, w.Pos = fmt.Sprintf("stage %s: %s", s.displayName(), e.Msg), e.Pos
	}
	c.warnings = append(c.warnings, w)
}

// dispatch converts one instruction, after expanding its variables the way
// BuildKit does: every word-expanding instruction but ARG (whose default is
// expanded while it is dispatched), and heredoc bodies raw.
func (c *converter) dispatch(s *stage, st *state, cmd *command, lint *linter.Linter) (plan.Step, error) {
	step := plan.Step{Pos: c.src.pos(cmd.Location()), OnBuild: cmd.onbuild}
	if str, ok := cmd.Command.(fmt.Stringer); ok {
		step.Text = str.String()
	}
	env := st.expansionEnv()
	if ex, ok := cmd.Command.(instructions.SupportsSingleWordExpansion); ok {
		if _, isArg := cmd.Command.(*instructions.ArgCommand); !isArg {
			err := ex.Expand(func(word string) (string, error) {
				out, unmatched, err := c.shlex.ProcessWord(word, env)
				lintUndefinedVars(cmd, st, env, unmatched, lint)
				return out, err
			})
			if err != nil {
				if _, isRun := cmd.Command.(*instructions.RunCommand); isRun {
					return step, c.errorAt(cmd.Location(), err, mountNeedles(err)...)
				}
				return step, err
			}
		}
	}
	if ex, ok := cmd.Command.(instructions.SupportsSingleWordExpansionRaw); ok {
		raw := shell.NewLex('\\')
		raw.SkipProcessQuotes = true
		err := ex.ExpandRaw(func(word string) (string, error) {
			out, unmatched, err := raw.ProcessWord(word, env)
			lintUndefinedVars(cmd, st, env, unmatched, lint)
			return out, err
		})
		if err != nil {
			return step, err
		}
	}

	var err error
	switch t := cmd.Command.(type) {
	case *instructions.RunCommand:
		step.Run, err = c.runStep(s, st, t)
	case *instructions.CopyCommand:
		step.Copy, err = c.copyStep(s, t, cmd.from)
	case *instructions.AddCommand:
		step.Add, err = addStep(t)
	case *instructions.ArgCommand:
		step.Config, err = c.argStep(s, st, t, lint)
	default:
		step.Config, err = c.configStep(st, cmd.Command, lint)
	}
	return step, err
}

// configStep converts the instructions that only change the image config.
func (c *converter) configStep(st *state, cmd instructions.Command, lint *linter.Linter) (*plan.Config, error) {
	switch t := cmd.(type) {
	case *instructions.EnvCommand:
		return envStep(st, t, lint), nil
	case *instructions.LabelCommand:
		return labelStep(t, lint), nil
	case *instructions.ExposeCommand:
		return c.exposeStep(st, t, lint)
	case *instructions.VolumeCommand:
		return volumeStep(t)
	case *instructions.UserCommand:
		return &plan.Config{User: &t.User}, nil
	case *instructions.WorkdirCommand:
		return workdirStep(st, t, lint)
	case *instructions.ShellCommand:
		st.shell = t.Shell
		return &plan.Config{Shell: t.Shell}, nil
	case *instructions.CmdCommand:
		return cmdStep(st, t, lint), nil
	case *instructions.EntrypointCommand:
		return entrypointStep(st, t, lint), nil
	case *instructions.HealthCheckCommand:
		return healthcheckStep(st, t, lint), nil
	case *instructions.StopSignalCommand:
		return stopSignalStep(t)
	case *instructions.OnbuildCommand:
		return &plan.Config{OnBuild: []string{t.Expression}}, nil
	case *instructions.MaintainerCommand:
		return &plan.Config{Maintainer: t.Maintainer}, nil
	default:
		return nil, unsupported("instruction %s is not supported by zbuild", cmd.Name())
	}
}
