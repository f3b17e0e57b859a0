package dockerfile

import (
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/util/suggest"
)

// BuildKit's parse step runs only StageNameCasing, FromAsCasing,
// MaintainerDeprecated and InvalidDefinitionDescription; the other rules
// live in its LLB converter, which we do not import, so this file runs them.
// Rules needing image metadata (InvalidBaseImagePlatform) or the context's
// ignore file (CopyIgnoredFile) are left out.

// ruleUnusedBuildArgs reports --build-arg values no ARG consumed. It is not
// a BuildKit rule (the docker CLI prints this warning); running it through
// the linter lets `# check=skip=UnusedBuildArgs` silence it.
var ruleUnusedBuildArgs = linter.LinterRule[func([]string) string]{
	Name:        "UnusedBuildArgs",
	Description: "Build arguments should be consumed by an ARG instruction",
	URL:         "https://docs.docker.com/reference/dockerfile/#arg",
	Format: func(keys []string) string {
		return fmt.Sprintf("One or more build-args [%s] were not consumed", strings.Join(keys, " "))
	},
}

// newLinters reads the `# check=` directive and makes the reporting linter
// and a silent one for stages the target does not need (BuildKit lints only
// the stages it builds).
func (c *converter) newLinters(src []byte) error {
	opts, _, loc, _ := parser.ParseDirective("check", src)
	cfg, err := linter.ParseLintOptions(opts)
	if err != nil {
		return c.errorAt(loc, fmt.Errorf("failed to parse check options: %w", err))
	}
	cfg.Warn = c.warn
	c.lint = linter.New(cfg)
	c.quiet = linter.New(&linter.Config{})
	return nil
}

func (c *converter) warn(rule, description, url, msg string, loc []parser.Range) {
	c.warnings = append(c.warnings, Warning{
		RuleName:    rule,
		Description: description,
		URL:         url,
		Message:     msg,
		Pos:         c.src.pos(loc),
	})
}

var reservedStageNames = []string{"context", "scratch"}

// lintStageNames runs ReservedStageName and DuplicateStageName.
func lintStageNames(defs []instructions.Stage, lint *linter.Linter) {
	seen := map[string]bool{}
	for _, d := range defs {
		if d.Name == "" {
			continue
		}
		if slices.Contains(reservedStageNames, d.Name) {
			lint.Run(&linter.RuleReservedStageName, d.Location, linter.RuleReservedStageName.Format(d.Name))
		}
		if seen[d.Name] {
			lint.Run(&linter.RuleDuplicateStageName, d.Location, linter.RuleDuplicateStageName.Format(d.Name))
		}
		seen[d.Name] = true
	}
}

// lintInstructionCasing runs ConsistentInstructionCasing: every keyword
// should be all upper or all lower case, like the majority of keywords.
func lintInstructionCasing(defs []instructions.Stage, lint *linter.Linter) {
	type keyword struct {
		name string
		loc  []parser.Range
	}
	var words []keyword
	for _, d := range defs {
		words = append(words, keyword{d.OrigCmd, d.Location})
		for _, cmd := range d.Commands {
			words = append(words, keyword{cmd.Name(), cmd.Location()})
		}
	}
	lower, upper := 0, 0
	for _, w := range words {
		switch w.name {
		case strings.ToLower(w.name):
			lower++
		case strings.ToUpper(w.name):
			upper++
		}
	}
	majorityLower := lower > upper
	for _, w := range words {
		want := ""
		if majorityLower && w.name != strings.ToLower(w.name) {
			want = "lowercase"
		} else if !majorityLower && w.name != strings.ToUpper(w.name) {
			want = "uppercase"
		}
		if want != "" {
			lint.Run(&linter.RuleConsistentInstructionCasing, w.loc, linter.RuleConsistentInstructionCasing.Format(w.name, want))
		}
	}
}

// lintDefaultArgsInFrom runs InvalidDefaultArgInFrom: with no --build-arg
// at all, every FROM must still name a valid image.
func (c *converter) lintDefaultArgsInFrom(defs []instructions.Stage, predefined envList, metaArgs []instructions.ArgCommand) {
	env, _, err := c.metaArgs(predefined, metaArgs, nil)
	if err != nil {
		// The real evaluation reports this error with a position.
		return
	}
	for _, d := range defs {
		name, _, err := c.shlex.ProcessWord(d.BaseName, env)
		if err != nil {
			return
		}
		if strings.HasPrefix(name, ociLayoutPrefix) {
			continue
		}
		if _, err := reference.ParseNormalizedNamed(name); err != nil {
			c.lint.Run(&linter.RuleInvalidDefaultArgInFrom, d.Location, linter.RuleInvalidDefaultArgInFrom.Format(d.BaseName))
		}
	}
}

// lintUndefinedFromArgs runs UndefinedArgInFrom for the variables a FROM
// line used that no global ARG declares.
func (c *converter) lintUndefinedFromArgs(unmatched map[string]struct{}, loc []parser.Range, lint *linter.Linter) {
	known := c.globals.Keys()
	for k := range c.globalDecls {
		if !slices.Contains(known, k) {
			known = append(known, k)
		}
	}
	for _, arg := range sortedKeys(unmatched) {
		if slices.Contains(known, arg) {
			continue
		}
		match, _ := suggest.Search(arg, known, true)
		lint.Run(&linter.RuleUndefinedArgInFrom, loc, linter.RuleUndefinedArgInFrom.Format(arg, match))
	}
}

// lintFromPlatform runs RedundantTargetPlatform and
// FromPlatformFlagConstDisallowed on an expanded FROM --platform value.
func (c *converter) lintFromPlatform(def instructions.Stage, res shell.ProcessWordResult, lint *linter.Linter) {
	if len(res.Matched) == 1 && len(res.Unmatched) == 0 {
		if _, ok := res.Matched["TARGETPLATFORM"]; ok {
			if v, _ := c.globals.Get("TARGETPLATFORM"); v == res.Result {
				lint.Run(&linter.RuleRedundantTargetPlatform, def.Location, linter.RuleRedundantTargetPlatform.Format(def.Platform))
			}
		}
	}
	if len(res.Matched) > 0 || len(res.Unmatched) > 0 {
		return
	}
	p, err := parsePlatform(res.Result)
	if err != nil {
		return // reported as an error by the caller
	}
	// A constant platform is fine in a stage named after it (FROM
	// --platform=linux/arm64 … AS build-arm64).
	if strings.Contains(def.Name, p.OS) || strings.Contains(def.Name, p.Architecture) {
		return
	}
	lint.Run(&linter.RuleFromPlatformFlagConstDisallowed, def.Location, linter.RuleFromPlatformFlagConstDisallowed.Format(res.Result))
}

// Secret-looking names: one of these words, alone or between underscores,
// unless an allowed word is there too (PUBLIC_KEY, TOKEN_FILE).
var (
	secretName      = regexp.MustCompile(`(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)`)
	allowSecretName = regexp.MustCompile(`(?i)(?:_|^)(?:public|file|version)(?:_|$)`)
)

// lintSecretKey runs SecretsUsedInArgOrEnv.
func lintSecretKey(instruction, key string, loc []parser.Range, lint *linter.Linter) {
	if secretName.MatchString(key) && !allowSecretName.MatchString(key) {
		lint.Run(&linter.RuleSecretsUsedInArgOrEnv, loc, linter.RuleSecretsUsedInArgOrEnv.Format(instruction, key))
	}
}

// sbomArgs are read by BuildKit itself and never reported as undefined.
var sbomArgs = []string{"BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"}

// lintUndefinedVars runs UndefinedVar for variables an expansion did not
// find. Declared ARGs without a value are defined, just empty.
func lintUndefinedVars(cmd instructions.Command, st *state, env envList, unmatched map[string]struct{}, lint *linter.Linter) {
	for _, k := range sortedKeys(unmatched) {
		if st.declared(k) || slices.Contains(sbomArgs, k) {
			continue
		}
		match, _ := suggest.Search(k, env.Keys(), runtime.GOOS != "windows")
		lint.Run(&linter.RuleUndefinedVar, cmd.Location(), linter.RuleUndefinedVar.Format(k, match))
	}
}

// onceTracker implements MultipleInstructionsDisallowed for CMD, ENTRYPOINT
// and HEALTHCHECK: a second one in a stage makes the first pointless.
type onceTracker struct {
	set bool
	loc []parser.Range
}

func (t *onceTracker) use(cmd instructions.Command, lint *linter.Linter) {
	if t.set {
		// Point at the earlier instruction: it is the one that is ignored.
		lint.Run(&linter.RuleMultipleInstructionsDisallowed, t.loc, linter.RuleMultipleInstructionsDisallowed.Format(cmd.Name()))
	}
	t.set, t.loc = true, cmd.Location()
}

func sortedKeys(m map[string]struct{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
