package dockerfile

import (
	"slices"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"

	"github.com/zbuild/zbuild/plan"
)

// processArgs is the argv of CMD or ENTRYPOINT: JSON form as written, shell
// form wrapped in the stage's shell. Shell form gets JSONArgsRecommended
// unless the Dockerfile chose a shell on purpose (SHELL or the base's).
func processArgs(st *state, cmd instructions.Command, line instructions.ShellDependantCmdLine, lint *linter.Linter) []string {
	args := line.CmdLine
	if line.PrependShell {
		if len(st.shell) == 0 {
			lint.Run(&linter.RuleJSONArgsRecommended, cmd.Location(), linter.RuleJSONArgsRecommended.Format(cmd.Name()))
		}
		args = st.withShell(args)
	}
	if args == nil {
		// ENTRYPOINT [] clears the entrypoint: a non-nil empty value.
		args = []string{}
	}
	return slices.Clone(args)
}

func cmdStep(st *state, c *instructions.CmdCommand, lint *linter.Linter) *plan.Config {
	st.cmd.use(c, lint)
	args := processArgs(st, c, c.ShellDependantCmdLine, lint)
	return &plan.Config{Cmd: &args}
}

// entrypointStep sets the entrypoint; it also clears the CMD inherited from
// the base unless this stage set one before, as Docker does.
func entrypointStep(st *state, c *instructions.EntrypointCommand, lint *linter.Linter) *plan.Config {
	st.entrypoint.use(c, lint)
	args := processArgs(st, c, c.ShellDependantCmdLine, lint)
	cfg := &plan.Config{Entrypoint: &args}
	if !st.cmd.set {
		cfg.Cmd = &[]string{}
	}
	return cfg
}

func healthcheckStep(st *state, c *instructions.HealthCheckCommand, lint *linter.Linter) *plan.Config {
	st.healthcheck.use(c, lint)
	h := c.Health
	return &plan.Config{Healthcheck: &plan.Healthcheck{
		Test:          slices.Clone(h.Test),
		Interval:      int64(h.Interval),
		Timeout:       int64(h.Timeout),
		StartPeriod:   int64(h.StartPeriod),
		StartInterval: int64(h.StartInterval),
		Retries:       h.Retries,
	}}
}
