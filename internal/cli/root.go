package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/frontend/dockerfile"
)

// Exit codes, as documented in the README.
const (
	ExitOK     = 0
	ExitFailed = 1 // the build (or another operation) failed
	ExitUsage  = 2 // bad usage or bad input (flags, Dockerfile errors)
)

// globals are the flags every command shares.
type globals struct {
	root     string
	logLevel string
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	// registry is what the registry flags say (see addRegistryFlags).
	registry build.RegistryOptions
}

// New returns the whole command tree; tests drive it directly.
func New(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "zbuild",
		Short: "Build container images from Dockerfiles, without a daemon",
		Long: `zbuild builds OCI container images from Dockerfiles (BuildKit syntax) without a
daemon: every RUN step runs in an OCI runtime (crun or runc) over overlayfs
snapshots, and images land in a local store or a registry.`,
		Example: `  zbuild build -t app:dev .
  zbuild plan -f build/Containerfile --target test .
  zbuild version`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
				return &build.UsageError{Flag: "--log-level", Value: g.logLevel, Msg: "want debug, info, warn or error"}
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: lvl})))
			return nil
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.root, "root", "", "data root of the image store (default $ZBUILD_ROOT, /var/lib/zbuild as root, else $XDG_DATA_HOME/zbuild)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	addRegistryFlags(root.PersistentFlags(), &g.registry)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr{err} })
	root.AddCommand(newBuildCmd(g), newPlanCmd(g), newVersionCmd(g), newImagesCmd(g), newInspectCmd(g), newRmiCmd(g), newTagCmd(g), newRunCmd(g), newInfoCmd(g),
		newPushCmd(g), newLoginCmd(g), newLogoutCmd(g), newSaveCmd(g), newLoadCmd(g), newManifestCmd(g))
	root.AddCommand(newPruneCmd(g), newDfCmd(g))
	return root
}

// Execute runs zbuild with args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := New(stdin, stdout, stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ec exitCodeErr
	if errors.As(err, &ec) {
		return ec.code
	}
	fmt.Fprintln(stderr, "zbuild:", strings.TrimRight(err.Error(), "\n"))
	return ExitCode(err)
}

// usageErr marks errors cobra reports about flags and arguments.
type usageErr struct{ error }

func (e usageErr) Unwrap() error { return e.error }

// ExitCode maps an error to the process exit code: 2 for bad usage or bad
// input (flags, arguments, Dockerfile errors), 1 for everything else.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var (
		ue  usageErr
		bue *build.UsageError
		de  *dockerfile.Error
	)
	if errors.As(err, &ue) || errors.As(err, &bue) || errors.As(err, &de) {
		return ExitUsage
	}
	if strings.HasPrefix(err.Error(), "unknown command") || strings.Contains(err.Error(), "accepts ") {
		return ExitUsage
	}
	return ExitFailed
}

// exactArgs is cobra.ExactArgs whose error maps to the usage exit code.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr{fmt.Errorf("expected %d argument(s) (%s), got %d", n, what, len(args))}
		}
		return nil
	}
}
