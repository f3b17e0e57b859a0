package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/zbuild/zbuild/build"
	"github.com/zbuild/zbuild/progress"
)

func newBuildCmd(g *globals) *cobra.Command {
	var (
		f      buildFlags
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "build [flags] CONTEXT",
		Short: "Build an image from a Dockerfile",
		Long: `build reads CONTEXT/Dockerfile (or -f FILE), runs every step the target stage
needs — RUN in an OCI runtime over overlayfs, COPY/ADD from the context —
and stores the image in the local store under the -t names.`,
		Example: `  zbuild build -t app:dev .
  zbuild build -f Containerfile --build-arg VERSION=1.2 --target release -t app:1.2 .
  zbuild build --secret id=npmrc,src=$HOME/.npmrc --output type=oci,dest=app.tar .
  zbuild build --dry-run .     # print the plan, build nothing`,
		Args: exactArgs(1, "the build context directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(args[0], g.stdin)
			if err != nil {
				return err
			}
			opts.Root = g.rootDir()
			if dryRun {
				res, err := build.Plan(cmd.Context(), opts, nil)
				if err != nil {
					return err
				}
				printWarnings(g.stderr, res.Warnings, res.UnusedBuildArgs)
				return renderPlan(g.stdout, res)
			}
			opts.Progress = progressSink(f.progress, f.quiet, g.stderr)
			res, err := build.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if f.quiet || f.progress == "quiet" {
				_, err = fmt.Fprintln(g.stdout, res.ImageID)
			}
			return err
		},
	}
	f.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the resolved plan (like zbuild plan) and build nothing")
	return cmd
}

// progressSink picks the renderer for --progress.
func progressSink(mode string, quiet bool, w io.Writer) progress.Sink {
	if quiet {
		mode = "quiet"
	}
	switch mode {
	case "quiet":
		return progress.Discard
	case "json", "rawjson":
		return progress.NewJSON(w)
	case "auto", "tty":
		// The interactive view arrives with the progress issue; until then
		// a terminal gets plain lines too.
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return progress.NewPlain(w)
		}
	}
	return progress.NewPlain(w)
}
