package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/frontend/dockerfile"
	"github.com/zbuild/zbuild/plan"
)

func newPlanCmd(g *globals) *cobra.Command {
	var (
		f      buildFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "plan [flags] CONTEXT",
		Short: "Print the resolved build plan of a Dockerfile, without building",
		Long: `plan parses the Dockerfile, applies build args, the target and .dockerignore,
and prints the plan the engine would run: stages, which of them the target
needs, and every step with its resolved arguments. Nothing is built or pulled,
so base images' own ENV, WORKDIR and ONBUILD are not known to it.`,
		Example: `  zbuild plan .
  zbuild plan --format json --build-arg VERSION=1.2 --target test .
  cat Dockerfile | zbuild plan -f - .`,
		Args: exactArgs(1, "the build context directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(args[0], g.stdin)
			if err != nil {
				return err
			}
			res, err := build.Plan(cmd.Context(), opts, nil)
			if err != nil {
				return err
			}
			printWarnings(g.stderr, res.Warnings, res.UnusedBuildArgs)
			switch format {
			case "json":
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res.Graph)
			case "text":
				return renderPlan(g.stdout, res)
			default:
				return &build.UsageError{Flag: "--format", Value: format, Msg: "want text or json"}
			}
		},
	}
	f.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// printWarnings shows lint warnings the way `docker build` does, with the
// rule name, position and a link.
func printWarnings(w io.Writer, warnings []dockerfile.Warning, unused []string) {
	for _, wr := range warnings {
		loc := ""
		if wr.Pos.Line > 0 {
			loc = fmt.Sprintf(" (%s:%d)", wr.Pos.File, wr.Pos.Line)
		}
		fmt.Fprintf(w, "WARNING: %s: %s%s\n", wr.RuleName, wr.Message, loc)
	}
	_ = unused // the front-end reports unused build args as warnings too
}

func renderPlan(w io.Writer, res *build.PlanResult) error {
	g := res.Graph
	var b strings.Builder
	fmt.Fprintf(&b, "dockerfile: %s\n", res.Dockerfile)
	if g.Context.IgnoreFile != "" {
		fmt.Fprintf(&b, "ignore file: %s (%d patterns)\n", g.Context.IgnoreFile, len(g.Context.Exclude))
	}
	needed := map[int]bool{}
	var names []string
	for _, i := range g.Needed() {
		needed[i] = true
		names = append(names, stageName(g, i))
	}
	fmt.Fprintf(&b, "target: %s; stages to build: %s\n", stageName(g, g.Target), strings.Join(names, ", "))
	for i := range g.Stages {
		st := &g.Stages[i]
		fmt.Fprintf(&b, "\nstage %s FROM %s (%s)", stageName(g, i), baseText(g, st.Base), st.Platform)
		if !needed[i] {
			b.WriteString(" — not needed by the target, skipped")
		}
		b.WriteString("\n")
		for j := range st.Steps {
			s := &st.Steps[j]
			origin := ""
			if s.OnBuild {
				origin = " (ONBUILD trigger)"
			}
			fmt.Fprintf(&b, "  %2d. %s:%d  %s%s\n", j+1, s.Pos.File, s.Pos.Line, firstLine(s.Text), origin)
			fmt.Fprintf(&b, "      %s\n", stepSummary(g, s))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func stageName(g *plan.Graph, i int) string {
	if i >= 0 && i < len(g.Stages) && g.Stages[i].Name != "" {
		return fmt.Sprintf("%d (%s)", i, g.Stages[i].Name)
	}
	return fmt.Sprint(i)
}

func baseText(g *plan.Graph, b plan.Base) string {
	switch b.Kind {
	case plan.BaseStage:
		return "stage " + stageName(g, b.Stage)
	case plan.BaseScratch:
		return "scratch"
	case plan.BaseOCILayout:
		return "oci-layout://" + b.Ref
	default:
		return b.Ref
	}
}

func fromText(g *plan.Graph, f plan.From) string {
	switch f.Kind {
	case plan.FromStage:
		return "stage " + stageName(g, f.Stage)
	case plan.FromImage:
		return "image " + f.Ref
	default:
		return "context"
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// stepSummary is one line saying what the engine will do for s.
func stepSummary(g *plan.Graph, s *plan.Step) string {
	q := func(v []string) string { b, _ := json.Marshal(v); return string(b) }
	switch {
	case s.Run != nil:
		r := s.Run
		parts := []string{"run " + q(r.Args)}
		for _, m := range r.Mounts {
			d := string(m.Type) + ":" + m.Target
			if m.Type == plan.MountSecret || m.Type == plan.MountSSH {
				d = string(m.Type) + ":" + m.ID
			}
			if !m.From.IsZero() {
				d += " from " + fromText(g, m.From)
			}
			parts = append(parts, "mount "+d)
		}
		if len(r.BuildArgs) > 0 {
			var kv []string
			for _, a := range r.BuildArgs {
				kv = append(kv, a.Key+"="+a.Value)
			}
			parts = append(parts, "args "+strings.Join(kv, " "))
		}
		if r.Network != "" {
			parts = append(parts, "network "+r.Network)
		}
		if r.Security != "" {
			parts = append(parts, "security "+r.Security)
		}
		if len(r.Files) > 0 {
			parts = append(parts, fmt.Sprintf("%d heredoc file(s)", len(r.Files)))
		}
		return strings.Join(parts, "; ")
	case s.Copy != nil:
		return "copy " + transferText(s.Copy.Transfer) + " from " + fromText(g, s.Copy.From)
	case s.Add != nil:
		t := "add " + transferText(s.Add.Transfer)
		if s.Add.Checksum != "" {
			t += " checksum " + s.Add.Checksum
		}
		return t
	case s.Config != nil:
		b, _ := json.Marshal(s.Config)
		return "config " + string(b)
	}
	return "?"
}

func transferText(t plan.Transfer) string {
	src := append([]string{}, t.Sources...)
	for _, f := range t.Inline {
		src = append(src, "<<"+f.Name)
	}
	s := strings.Join(src, " ") + " -> " + t.Dest
	for _, o := range []struct{ k, v string }{{"chown", t.Chown}, {"chmod", t.Chmod}} {
		if o.v != "" {
			s += " " + o.k + "=" + o.v
		}
	}
	if t.Link {
		s += " link"
	}
	if t.Parents {
		s += " parents"
	}
	if len(t.Exclude) > 0 {
		s += " exclude=" + strings.Join(t.Exclude, ",")
	}
	return s
}
