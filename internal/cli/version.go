package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at link time (-ldflags "-X github.com/zbuild/zbuild/internal/cli.Version=v1.2.3").
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print zbuild's version",
		Example: "  zbuild version",
		Args:    exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = " (" + s.Value + ")"
					}
				}
			}
			_, err := fmt.Fprintf(g.stdout, "zbuild %s%s %s %s/%s\n", version(), rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
