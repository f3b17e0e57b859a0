package cli

import (
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/zbuild/zbuild/build"
)

func newInfoCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "info",
		Short:   "Show what zbuild detected on this host: runtime, storage, kernel",
		Example: "  zbuild info",
		Args:    exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var uts unix.Utsname
			kernel := "unknown"
			if unix.Uname(&uts) == nil {
				kernel = unix.ByteSliceToString(uts.Release[:])
			}
			fmt.Fprintf(g.stdout, "zbuild:   %s (%s, %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(g.stdout, "kernel:   %s\n", kernel)
			root := g.rootDir()
			fmt.Fprintf(g.stdout, "store:    %s\n", root)
			d := build.DetectBackends(cmd.Context(), root)
			if d.Native != nil {
				fmt.Fprintf(g.stdout, "native:   unavailable: %v\n", d.Native)
			} else {
				fmt.Fprintf(g.stdout, "native:   available (storage: overlayfs, runtime: %s)\n", d.Runtime)
			}
			if d.BuildahErr != nil {
				fmt.Fprintf(g.stdout, "buildah:  unavailable: %v\n", d.BuildahErr)
			} else {
				fmt.Fprintf(g.stdout, "buildah:  %s\n", d.Buildah)
			}
			env := os.Getenv(build.BackendEnv)
			if env == "" {
				env = "auto"
			}
			if name, err := build.SelectBackend(cmd.Context(), "", root); err != nil {
				fmt.Fprintf(g.stdout, "backend:  none: %v\n", err)
			} else {
				fmt.Fprintf(g.stdout, "backend:  %s (--backend, $%s: %s)\n", name, build.BackendEnv, env)
			}
			return nil
		},
	}
}
