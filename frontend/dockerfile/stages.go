package dockerfile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/util/suggest"

	"github.com/zbuild/zbuild/plan"
)

const (
	scratchName     = "scratch"
	ociLayoutPrefix = "oci-layout://"
)

// stage is one FROM block while it is converted.
type stage struct {
	index    int
	def      instructions.Stage
	pos      plan.Pos
	base     plan.Base
	platform plan.Platform
	// fromArgs are the global args its FROM line used.
	fromArgs map[string]struct{}
	// cmds are ONBUILD triggers of the base, then the stage's instructions.
	cmds []*command
	// deps are the stages it reads from (base, COPY --from, mounts).
	deps []int
	// needed: the target depends on this stage, so it is built.
	needed bool
	// prepared: its base config and ONBUILD triggers are in place.
	prepared bool
	// config is the base image's config (image and oci-layout bases).
	config ImageConfig
	steps  []plan.Step
	// final is the state after the last step; stages built on this one
	// start from it.
	final *state
}

// displayName names the stage in messages as BuildKit does.
func (s *stage) displayName() string {
	if s.def.Name != "" {
		return s.def.Name
	}
	return fmt.Sprintf("stage-%d", s.index)
}

// command is an instruction with what the conversion learned about it.
type command struct {
	instructions.Command
	// onbuild is set for ONBUILD triggers of the stage's base.
	onbuild bool
	// from is the source of COPY --from (zero: the context).
	from plan.From
}

// declareStages expands each FROM against the global args and decides its
// base and platform.
func (c *converter) declareStages(defs []instructions.Stage) error {
	byName := map[string]int{}
	for i, def := range defs {
		lint := c.lint.WithMergedConfigFromComments(def.Comments)
		res, err := c.shlex.ProcessWordWithMatches(def.BaseName, c.globals)
		c.lintUndefinedFromArgs(res.Unmatched, def.Location, lint)
		if err != nil {
			return c.errorAt(def.Location, err)
		}
		if res.Result == "" {
			return c.errorAt(def.Location, fmt.Errorf("base name (%s) should not be blank", def.BaseName))
		}
		s := &stage{index: i, def: def, pos: c.src.pos(def.Location), platform: c.targetPlatform, fromArgs: res.Matched, steps: []plan.Step{}}
		if s.fromArgs == nil {
			s.fromArgs = map[string]struct{}{}
		}
		if def.Platform != "" {
			p, err := c.stagePlatform(s, lint)
			if err != nil {
				return err
			}
			s.platform = p
		}
		name := res.Result
		// An earlier stage's name wins over an image of the same name,
		// even "scratch"; the lookup is by the exact text, as BuildKit's.
		if j, ok := byName[name]; ok {
			s.base = plan.Base{Kind: plan.BaseStage, Stage: j}
			s.platform = c.stages[j].platform
		} else if name == scratchName {
			s.base = plan.Base{Kind: plan.BaseScratch}
		} else if dir, ok := strings.CutPrefix(name, ociLayoutPrefix); ok {
			if dir == "" {
				return c.errorAt(def.Location, fmt.Errorf("%s needs a directory: %s", ociLayoutPrefix, name))
			}
			s.base = plan.Base{Kind: plan.BaseOCILayout, Ref: dir}
		} else {
			// The reference is checked once we know whether the stage is
			// built (prepareStage): BuildKit ignores stages it does not build.
			s.base = plan.Base{Kind: plan.BaseImage, Ref: name}
		}
		if def.Name != "" {
			if _, dup := byName[def.Name]; dup {
				return c.errorAt(def.Location, fmt.Errorf("duplicate stage name %q, stage names should be unique", def.Name))
			}
			byName[def.Name] = i
		}
		c.stages = append(c.stages, s)
	}
	c.byName = byName
	return nil
}

// stagePlatform expands and parses FROM --platform.
func (c *converter) stagePlatform(s *stage, lint *linter.Linter) (plan.Platform, error) {
	def := s.def
	res, err := c.shlex.ProcessWordWithMatches(def.Platform, c.globals)
	c.lintUndefinedFromArgs(res.Unmatched, def.Location, lint)
	c.lintFromPlatform(def, res, lint)
	if err != nil {
		return plan.Platform{}, c.errorAt(def.Location, fmt.Errorf("failed to process arguments for platform %s: %w", def.Platform, err), "--platform")
	}
	if res.Result == "" {
		err := fmt.Errorf("empty platform value from expression %s", def.Platform)
		return plan.Platform{}, c.errorAt(def.Location, suggestArg(err, res, c.globals), "--platform")
	}
	p, err := parsePlatform(res.Result)
	if err != nil {
		err = fmt.Errorf("failed to parse platform %s: %w", def.Platform, err)
		return plan.Platform{}, c.errorAt(def.Location, suggestArg(err, res, c.globals), "--platform")
	}
	for k := range res.Matched {
		s.fromArgs[k] = struct{}{}
	}
	return p, nil
}

// suggestArg adds a did-you-mean for the first unknown variable of res that
// resembles a defined one.
func suggestArg(err error, res shell.ProcessWordResult, env envList) error {
	for _, k := range sortedKeys(res.Unmatched) {
		if ok, wrapped := suggest.WrapErrorMaybe(err, k, env.Keys(), true); ok {
			return wrapped
		}
	}
	return err
}

// findTarget returns the index of the --target stage, or the last stage.
func (c *converter) findTarget() (int, error) {
	if c.opts.Target == "" {
		return len(c.stages) - 1, nil
	}
	if i, ok := c.byName[strings.ToLower(c.opts.Target)]; ok {
		return i, nil
	}
	var names []string
	for _, s := range c.stages {
		if s.def.Name != "" {
			names = append(names, s.def.Name)
		}
	}
	err := suggest.WrapError(fmt.Errorf("target stage %q could not be found", c.opts.Target), c.opts.Target, names, true)
	hint := "the Dockerfile has no named stages; name one with FROM image AS name"
	if len(names) > 0 {
		hint = "available stages: " + strings.Join(names, ", ")
	}
	return 0, c.fileError(err.Error(), hint, err)
}

// stageRef resolves a stage named by --from or a mount's from=: a stage
// name (any case) or, with index, a stage number. ok is false for an image.
func (c *converter) stageRef(name string, index bool) (int, bool, error) {
	if index {
		if n, err := strconv.Atoi(name); err == nil {
			if n < 0 || n >= len(c.stages) {
				return 0, false, fmt.Errorf("invalid stage index %d", n)
			}
			return n, true, nil
		}
	}
	n, ok := c.byName[strings.ToLower(name)]
	return n, ok, nil
}

// scanCommands wraps a stage's instructions and records the stages they
// read from, before anything is dispatched: which stages are needed depends
// on it.
func (c *converter) scanCommands(s *stage, cmds []instructions.Command, onbuild bool) ([]*command, error) {
	out := make([]*command, 0, len(cmds))
	for _, ic := range cmds {
		cmd := &command{Command: ic, onbuild: onbuild}
		switch t := ic.(type) {
		case *instructions.CopyCommand:
			if t.From == "" {
				break
			}
			from, err := c.copyFrom(t.From)
			if err != nil {
				return nil, c.errorAt(ic.Location(), err, "--from")
			}
			cmd.from = from
			if from.Kind == plan.FromStage {
				s.addDep(from.Stage)
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(t) {
				if m.From == "" {
					continue
				}
				if i, ok, _ := c.stageRef(m.From, false); ok {
					s.addDep(i)
				}
			}
		}
		out = append(out, cmd)
	}
	return out, nil
}

// copyFrom resolves COPY --from: a stage name, a stage index, or an image.
func (c *converter) copyFrom(name string) (plan.From, error) {
	res, err := c.shlex.ProcessWordWithMatches(name, envList(nil))
	if err != nil {
		return plan.From{}, err
	}
	if res.Result != name {
		return plan.From{}, errors.New("variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround")
	}
	i, ok, err := c.stageRef(name, true)
	if err != nil {
		return plan.From{}, err
	}
	if ok {
		return plan.From{Kind: plan.FromStage, Stage: i}, nil
	}
	return plan.From{Kind: plan.FromImage, Ref: name}, nil
}

func (s *stage) addDep(i int) {
	for _, d := range s.deps {
		if d == i {
			return
		}
	}
	s.deps = append(s.deps, i)
}

// neededFrom marks the stages target depends on, transitively.
func (c *converter) neededFrom(target int) []bool {
	need := make([]bool, len(c.stages))
	var visit func(i int)
	visit = func(i int) {
		if i < 0 || i >= len(need) || need[i] {
			return
		}
		need[i] = true
		s := c.stages[i]
		if s.base.Kind == plan.BaseStage {
			visit(s.base.Stage)
		}
		for _, d := range s.deps {
			visit(d)
		}
	}
	visit(target)
	return need
}
