package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/zbuild/zbuild/build"
)

func newRunCmd(g *globals) *cobra.Command {
	var network string
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [COMMAND [ARG...]]",
		Short: "Run a command in a throw-away container of a stored image",
		Long: `run starts the image's ENTRYPOINT with COMMAND (or the image's CMD) through
the same OCI runtime as RUN steps, prints its output and exits with its exit
code. Changes to the file system are discarded. Meant for quick checks.`,
		Example: `  zbuild run app:dev
  zbuild run app:dev cat /etc/os-release
  zbuild run --network none app:dev wget -q -O- http://example.com`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr{errors.New("run needs an image")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			err := build.RunImage(cmd.Context(), build.RunOptions{
				Root: g.rootDir(), Image: args[0], Args: args[1:], Network: network,
				Stdout: g.stdout, Stderr: g.stderr,
			})
			var ee *build.ExitError
			if errors.As(err, &ee) {
				return exitCodeErr{ee.Code}
			}
			return err
		},
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVar(&network, "network", "default", "network: default (the host's), none or host")
	return cmd
}

// exitCodeErr makes zbuild exit with a command's own exit code, silently.
type exitCodeErr struct{ code int }

func (e exitCodeErr) Error() string { return "" }
