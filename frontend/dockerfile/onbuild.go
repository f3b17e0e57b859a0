package dockerfile

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/zbuild/zbuild/plan"
)

// prepare sets up the base of every stage: the needed ones get their base
// image config from the Resolver and that image's ONBUILD triggers; stages
// built on another stage get the ONBUILD instructions written there. A
// trigger may read from another stage (COPY --from), so the needed set
// grows until it is stable, as in BuildKit.
func (c *converter) prepare(target int) error {
	for {
		need := c.neededFrom(target)
		grew := false
		for i, s := range c.stages {
			if !need[i] || s.prepared {
				continue
			}
			s.needed = true
			n := len(s.deps)
			if err := c.prepareStage(s, true); err != nil {
				return err
			}
			grew = grew || len(s.deps) > n
		}
		if !grew {
			break
		}
	}
	// Stages the target does not need are still converted, so tools can
	// show them, but their base images are not resolved (that could mean a
	// pull) and so carry no image triggers.
	for _, s := range c.stages {
		if !s.prepared {
			if err := c.prepareStage(s, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *converter) prepareStage(s *stage, resolve bool) error {
	s.prepared = true
	if s.base.Kind == plan.BaseImage {
		if _, err := reference.ParseNormalizedNamed(s.base.Ref); err != nil {
			err = c.errorAt(s.def.Location, fmt.Errorf("invalid base image reference %q: %w", s.base.Ref, err))
			if resolve {
				return err
			}
			c.warnUnbuilt(s, err)
			return nil
		}
	}
	var triggers []string
	switch s.base.Kind {
	case plan.BaseStage:
		// Only the ONBUILD instructions of the base stage itself run:
		// triggers inherited from further down are consumed there.
		for _, cmd := range c.stages[s.base.Stage].def.Commands {
			if ob, ok := cmd.(*instructions.OnbuildCommand); ok {
				triggers = append(triggers, ob.Expression)
			}
		}
	case plan.BaseImage, plan.BaseOCILayout:
		if !resolve || c.opts.Resolver == nil {
			break
		}
		ref := s.base.Ref
		if s.base.Kind == plan.BaseOCILayout {
			ref = ociLayoutPrefix + ref
		}
		cfg, err := c.opts.Resolver.ResolveImageConfig(c.ctx, ref, s.platform)
		if err != nil {
			return c.errorAt(s.def.Location, fmt.Errorf("resolving base image %s: %w", ref, err))
		}
		s.config = cfg
		triggers = cfg.OnBuild
	}
	if len(triggers) == 0 {
		return nil
	}
	parsed := make([]instructions.Command, 0, len(triggers))
	for _, t := range triggers {
		cmd, err := c.parseTrigger(s, t)
		if err != nil {
			return c.errorAt(s.def.Location, fmt.Errorf("ONBUILD trigger %q: %w", t, err))
		}
		parsed = append(parsed, cmd)
	}
	cmds, err := c.scanCommands(s, parsed, true)
	if err != nil {
		return err
	}
	s.cmds = append(cmds, s.cmds...)
	return nil
}

// parseTrigger parses one ONBUILD expression. Its location is the stage's
// FROM line, where the trigger runs.
func (c *converter) parseTrigger(s *stage, trigger string) (instructions.Command, error) {
	word, _, _ := strings.Cut(strings.TrimSpace(trigger), " ")
	switch kw := strings.ToUpper(word); kw {
	case "ONBUILD":
		//lint:ignore ST1005 the same text as BuildKit's error for ONBUILD ONBUILD in a Dockerfile
		return nil, errors.New("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
	case "FROM", "MAINTAINER":
		return nil, fmt.Errorf("%s isn't allowed as an ONBUILD trigger", kw)
	}
	if !utf8.ValidString(trigger) || strings.ContainsRune(trigger, 0) {
		// See checkText: BuildKit's lexer would print to stderr.
		return nil, errors.New("trigger is not UTF-8 text")
	}
	res, err := parser.Parse(strings.NewReader(trigger))
	if err != nil {
		return nil, unlocated(err)
	}
	if len(res.AST.Children) != 1 {
		return nil, errors.New("onbuild trigger should be a single expression")
	}
	node := res.AST.Children[0]
	node.StartLine, node.EndLine = span(s.def.Location)
	cmd, err := instructions.ParseCommand(node)
	if err != nil {
		return nil, unlocated(err)
	}
	return cmd, nil
}

// unlocated strips the trigger-relative location from a parse error, so the
// error points at the FROM line instead.
func unlocated(err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && le.Unwrap() != nil {
		return le.Unwrap()
	}
	return err
}
