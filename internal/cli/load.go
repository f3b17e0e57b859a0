package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zbuild/zbuild/build"
)

func newLoadCmd(g *globals) *cobra.Command {
	var input string
	cmd := &cobra.Command{
		Use:   "load [flags]",
		Short: "Read images from an OCI or docker archive into the local store",
		Long: `load stores the images of an archive: an OCI layout directory or tar (as
zbuild save, podman save --format oci-archive or skopeo write them) or a docker
save archive, plain or gzip-compressed. Images keep the names the archive gives
them. It prints one line per image: its digest and names.`,
		Example: `  zbuild load -i app.tar
  docker save app:1.2 | zbuild load
  zbuild load -i layout/`,
		Args: exactArgs(0, "no arguments: give the archive with -i"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := build.Load(cmd.Context(), build.LoadOptions{Root: g.rootDir(), Input: input, Stdin: g.stdin})
			if err != nil {
				return err
			}
			for _, l := range loaded {
				names := strings.Join(l.Tags, " ")
				if names == "" {
					names = "(untagged)"
				}
				fmt.Fprintf(g.stdout, "Loaded %s %s\n", l.Digest, names)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "-", "archive file or OCI layout directory (- for stdin)")
	return cmd
}
