package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/zbuild/zbuild/build"
)

func newSaveCmd(g *globals) *cobra.Command {
	var (
		out    string
		format string
	)
	cmd := &cobra.Command{
		Use:   "save [flags] IMAGE...",
		Short: "Write stored images to an OCI or docker archive",
		Long: `save writes IMAGEs (names or IDs in the local store) to an archive: an OCI
image layout as a tar (the default, what podman save --format oci-archive
writes; manifests and digests are kept) or as a directory (-o DIR/), or with
--format docker the docker save format, which docker load and podman load read
(it keeps image IDs and layers but not manifest digests).`,
		Example: `  zbuild save -o app.tar app:1.2
  zbuild save --format docker -o app-docker.tar app:1.2 app:latest
  zbuild save -o layout/ app:1.2      # an OCI layout directory
  zbuild save -o - app:1.2 | ssh host zbuild load`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr{errors.New("save needs at least one image")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return build.Save(cmd.Context(), build.SaveOptions{Root: g.rootDir(), Images: args, Output: out, Format: format, Stdout: g.stdout})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "archive file, - for stdout, or a directory (ending in /) for an OCI layout")
	cmd.Flags().StringVar(&format, "format", build.FormatOCI, "archive format: oci or docker")
	return cmd
}
