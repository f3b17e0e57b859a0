package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zbuild/zbuild/build"
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
			opts.Registry = g.registry
			if dryRun {
				res, err := build.Plan(cmd.Context(), opts, nil)
				if err != nil {
					return err
				}
				printWarnings(g.stderr, res.Warnings, res.UnusedBuildArgs)
				return renderPlan(g.stdout, res)
			}
			res, err := runBuild(cmd.Context(), opts, f.progress, f.quiet, f.timestamps, g.stderr)
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
	f.addImageFormatFlags(cmd.Flags())
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the resolved plan (like zbuild plan) and build nothing")
	return cmd
}
