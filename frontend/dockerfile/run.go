package dockerfile

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/zbuild/zbuild/plan"
)

// runStep converts RUN: its argv (shell form wrapped in the shell, heredocs as
// BuildKit runs them), mounts, network, security and the ARGs in scope.
func (c *converter) runStep(s *stage, st *state, cmd *instructions.RunCommand) (*plan.Run, error) {
	if devs := instructions.GetDevices(cmd); len(devs) > 0 {
		return nil, c.errorAt(cmd.Location(), unsupported("RUN --device is not supported by zbuild"), "--device")
	}
	r := &plan.Run{}
	args := cmd.CmdLine
	if len(cmd.Files) > 0 {
		var err error
		if args, r.Files, err = heredocArgs(st, cmd); err != nil {
			return nil, err
		}
	}
	if cmd.PrependShell {
		args = st.withShell(args)
	} else if len(args) == 0 {
		return nil, c.errorAt(cmd.Location(), fmt.Errorf("RUN requires a command: the JSON list is empty"))
	}
	r.Args = slices.Clone(args)

	mounts, err := c.mounts(s, st, cmd)
	if err != nil {
		return nil, err
	}
	r.Mounts = mounts
	// "default" network and "sandbox" security are what an unflagged RUN
	// gets; keeping them "" keeps equal steps' cache keys equal.
	if slices.Contains(cmd.FlagsUsed, "network") {
		if n := instructions.GetNetwork(cmd); n != instructions.NetworkDefault {
			r.Network = n
		}
	}
	if slices.Contains(cmd.FlagsUsed, "security") {
		if sec := instructions.GetSecurity(cmd); sec != instructions.SecuritySandbox {
			r.Security = sec
		}
	}
	r.BuildArgs = st.buildArgs(c.proxyBuildArgs())
	return r, nil
}

// heredocArgs applies BuildKit's heredoc rules to a shell-form RUN. When the
// whole command is one heredoc, its body is the script: run as an
// executable file if it starts with "#!" (not on Windows), else given to the
// shell. Otherwise the command and its heredoc bodies are given to the
// shell, which reads the heredocs itself.
func heredocArgs(st *state, cmd *instructions.RunCommand) ([]string, []plan.InlineFile, error) {
	args := cmd.CmdLine
	if len(args) != 1 || !cmd.PrependShell {
		return nil, nil, fmt.Errorf("parsing produced an invalid run command: %v", args)
	}
	if parser.MustParseHeredoc(args[0]) == nil {
		var b strings.Builder
		b.WriteString(args[0])
		for _, f := range cmd.Files {
			b.WriteString("\n")
			b.WriteString(f.Data)
			b.WriteString(f.Name)
		}
		return []string{b.String()}, nil, nil
	}
	f := cmd.Files[0]
	data := f.Data
	if f.Chomp {
		data = parser.ChompHeredocContent(data)
	}
	if st.os != "windows" && strings.HasPrefix(data, "#!") {
		file := plan.InlineFile{Name: f.Name, Data: data, Mode: 0o755}
		return []string{path.Join(plan.FilesDir, f.Name)}, []plan.InlineFile{file}, nil
	}
	return []string{data}, nil, nil
}
