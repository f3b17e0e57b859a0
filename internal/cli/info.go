package cli

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/zbuild/zbuild/internal/worker/linux"
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
			st, err := g.openStore()
			if err != nil {
				fmt.Fprintf(g.stdout, "native:   unavailable: %v\n", err)
			} else {
				w, err := linux.New(filepath.Join(st.Root(), "worker"), linux.WithCacheRoot(filepath.Join(st.Root(), "cache")))
				if err != nil {
					fmt.Fprintf(g.stdout, "native:   unavailable: %v\n", err)
				} else {
					fmt.Fprintf(g.stdout, "native:   available (storage: overlayfs, runtime: %s)\n", w.Runtime())
				}
			}
			if out, err := exec.CommandContext(cmd.Context(), "buildah", "--version").Output(); err == nil {
				fmt.Fprintf(g.stdout, "buildah:  %s\n", strings.TrimSpace(string(out)))
			} else {
				fmt.Fprintf(g.stdout, "buildah:  not installed\n")
			}
			return nil
		},
	}
}
