package dockerfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/zbuild/zbuild/plan"
)

// converter holds one conversion's state.
type converter struct {
	ctx  context.Context
	opts Options
	src  *source
	// lint reports; quiet swallows findings in stages the target does not
	// need.
	lint, quiet *linter.Linter
	warnings    []Warning
	shlex       *shell.Lex

	targetPlatform, buildPlatform plan.Platform
	// globals are the global args with a value (predefined ones included);
	// globalDecls every ARG declared before the first FROM.
	globals     envList
	globalDecls map[string]globalArg

	stages []*stage
	byName map[string]int
	// used are the arg names the needed stages consumed.
	used map[string]struct{}
}

// Convert turns a Dockerfile into a build plan. Every error about the
// Dockerfile or the options is an *Error (a resolver's error is kept in its
// Err); a cancelled ctx gives ctx's error, wrapped. When
// `# check=error=true` turns lint warnings into an error, the Result is
// returned too, so the caller can show the warnings.
//
// Graph.Context is left empty: the caller fills it from ReadIgnore.
func Convert(ctx context.Context, src []byte, opts Options) (*Result, error) {
	if opts.Filename == "" {
		opts.Filename = "Dockerfile"
	}
	c := &converter{
		ctx:            ctx,
		opts:           opts,
		src:            newSource(opts.Filename, src),
		targetPlatform: defaultPlatform(opts.TargetPlatform),
		buildPlatform:  defaultPlatform(opts.BuildPlatform),
		used:           map[string]struct{}{},
	}
	if len(src) == 0 {
		return nil, c.fileError("the Dockerfile cannot be empty", "write at least a FROM instruction", nil)
	}
	if err := c.checkText(src); err != nil {
		return nil, err
	}
	if err := c.newLinters(src); err != nil {
		return nil, err
	}
	defs, metaArgs, err := c.parse(src)
	if err != nil {
		return nil, err
	}
	if err := c.declare(defs, metaArgs); err != nil {
		return nil, err
	}
	target, err := c.findTarget()
	if err != nil {
		return nil, err
	}
	if err := c.prepare(target); err != nil {
		return nil, err
	}
	for _, s := range c.stages {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("converting %s: %w", opts.Filename, err)
		}
		if err := c.dispatchStage(s); err != nil {
			if s.needed {
				return nil, err
			}
			c.warnUnbuilt(s, err)
		}
	}
	return c.result(target)
}

// parse runs BuildKit's parser and its typed-instruction step (which runs
// the few lint rules that live there).
func (c *converter) parse(src []byte) ([]instructions.Stage, []instructions.ArgCommand, error) {
	ast, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, nil, c.parseError(err)
	}
	for _, w := range ast.Warnings {
		if w.URL == linter.RuleNoEmptyContinuation.URL && w.Location != nil {
			c.lint.Run(&linter.RuleNoEmptyContinuation, []parser.Range{*w.Location}, linter.RuleNoEmptyContinuation.Format())
		}
	}
	c.shlex = shell.NewLex(ast.EscapeToken)
	defs, metaArgs, err := instructions.Parse(ast.AST, c.lint)
	if err != nil {
		return nil, nil, c.errorAt(nil, err)
	}
	if len(defs) == 0 {
		var loc []parser.Range
		if len(metaArgs) > 0 {
			loc = metaArgs[0].Location()
		}
		return nil, nil, c.errorAt(loc, fmt.Errorf("dockerfile contains no stages to build"))
	}
	return defs, metaArgs, nil
}

// parseError positions an error of parser.Parse. Errors in parser
// directives carry the 0-based number of their line, so they are shifted.
func (c *converter) parseError(err error) error {
	var le *parser.LocationError
	if isDirectiveError(err) && errors.As(err, &le) && len(le.Locations) > 0 {
		for i := range le.Locations[0] {
			le.Locations[0][i].Start.Line++
			le.Locations[0][i].End.Line++
		}
	}
	return c.errorAt(nil, err)
}

func isDirectiveError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "parser directive") || strings.Contains(msg, "invalid escape token")
}

// declare runs the lint rules over the whole file, evaluates the global
// ARGs and declares the stages with their bases and dependencies.
func (c *converter) declare(defs []instructions.Stage, metaArgs []instructions.ArgCommand) error {
	lintStageNames(defs, c.lint)
	lintInstructionCasing(defs, c.lint)

	targetStage := c.opts.Target
	if targetStage == "" {
		targetStage = defs[len(defs)-1].Name
	}
	predefined := predefinedArgs(c.targetPlatform, c.buildPlatform, targetStage, c.opts.BuildArgs)
	c.lintDefaultArgsInFrom(defs, predefined, metaArgs)
	var err error
	if c.globals, c.globalDecls, err = c.metaArgs(predefined, metaArgs, c.opts.BuildArgs); err != nil {
		return err
	}
	if err := c.declareStages(defs); err != nil {
		return err
	}
	for _, s := range c.stages {
		cmds, err := c.scanCommands(s, s.def.Commands, false)
		if err != nil {
			return err
		}
		s.cmds = cmds
	}
	return nil
}

// result assembles the graph, the unused build args and the lint outcome.
func (c *converter) result(target int) (*Result, error) {
	g := &plan.Graph{Target: target}
	for _, s := range c.stages {
		if s.needed {
			for k := range s.fromArgs {
				c.markUsed(k)
			}
		}
		g.Stages = append(g.Stages, plan.Stage{
			Index:    s.index,
			Name:     s.def.Name,
			Base:     s.base,
			Platform: s.platform,
			Steps:    s.steps,
			Pos:      s.pos,
		})
	}
	res := &Result{Graph: g, UnusedBuildArgs: c.unusedBuildArgs()}
	if len(res.UnusedBuildArgs) > 0 {
		c.lint.Run(&ruleUnusedBuildArgs, nil, ruleUnusedBuildArgs.Format(res.UnusedBuildArgs))
	}
	res.Warnings = c.warnings
	if err := c.lint.Error(); err != nil {
		e := &Error{Pos: plan.Pos{File: c.src.file}, Msg: lintErrorMessage(c.warnings), Hint: hintFor("lint violation"), Err: err}
		if len(c.warnings) > 0 {
			e.Pos = c.warnings[0].Pos
			e.Line = c.src.line(e.Pos.Line)
		}
		return res, e
	}
	if err := g.Validate(); err != nil {
		// A bug here, not in the Dockerfile: the plan breaks an invariant.
		return nil, c.fileError(fmt.Sprintf("internal error: %v", err), "", err)
	}
	return res, nil
}

// lintErrorMessage names the rules that fired, sorted (BuildKit's order
// is a map's).
func lintErrorMessage(ws []Warning) string {
	var rules []string
	for _, w := range ws {
		if !slices.Contains(rules, w.RuleName) {
			rules = append(rules, w.RuleName)
		}
	}
	slices.Sort(rules)
	return "lint violation found for rules: " + strings.Join(rules, ", ")
}
