package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/zbuild/zbuild/build"
)

// addRegistryFlags registers the global flags that say how to reach
// registries, named as dockerd's and buildah's options are.
func addRegistryFlags(fs *pflag.FlagSet, r *build.RegistryOptions) {
	fs.StringArrayVar(&r.Insecure, "insecure-registry", nil, "registry HOST[:PORT] to reach over plain HTTP or unverified TLS (repeatable; loopback hosts always may use HTTP)")
	fs.StringVar(&r.DefaultRegistry, "default-registry", "", "registry for image names without one (default: docker.io)")
	fs.StringArrayVar(&r.Mirrors, "registry-mirror", nil, "registry HOST[:PORT] tried before docker.io when pulling from it (repeatable)")
	fs.StringArrayVar(&r.CACertFiles, "registry-ca", nil, "PEM CA certificate file trusted for registries (repeatable)")
	fs.StringVar(&r.CertsDir, "registry-certs-dir", "", "per-registry certificates, HOST[:PORT]/ca.crt as docker reads them (default /etc/docker/certs.d)")
}

func newPushCmd(g *globals) *cobra.Command {
	var (
		mountFrom  string
		digestFile string
	)
	cmd := &cobra.Command{
		Use:   "push [flags] IMAGE [DESTINATION]",
		Short: "Push an image from the local store to a registry",
		Long: `push uploads IMAGE (a name or ID in the local store; an image index is pushed
with all its images) to DESTINATION, by default IMAGE's own name. Blobs the
registry already has are skipped; transient failures are retried. Credentials
come from the Docker config (with credential helpers) or Podman's auth.json:
see zbuild login. It prints DESTINATION@DIGEST.`,
		Example: `  zbuild push registry.example.com/team/app:1.2
  zbuild push app:dev registry.example.com/team/app:dev
  zbuild --insecure-registry lab:5000 push lab:5000/app:1`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageErr{fmt.Errorf("expected IMAGE [DESTINATION], got %d argument(s)", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := build.PushOptions{Root: g.rootDir(), Image: args[0], MountFrom: mountFrom, Registry: g.registry}
			if len(args) == 2 {
				opts.Dest = args[1]
			}
			res, err := build.Push(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if digestFile != "" {
				if err := os.WriteFile(digestFile, []byte(res.Digest), 0o644); err != nil {
					return fmt.Errorf("writing --digestfile: %w", err)
				}
			}
			_, err = fmt.Fprintf(g.stdout, "%s@%s\n", res.Dest, res.Digest)
			return err
		},
	}
	cmd.Flags().StringVar(&mountFrom, "mount-from", "", "repository on the destination registry to mount existing layers from (e.g. the base image's)")
	cmd.Flags().StringVar(&digestFile, "digestfile", "", "write the pushed manifest digest to this file")
	return cmd
}

// addImageFormatFlags registers --format and --compression, for build
// only: plan has a --format of its own (text or json).
func (f *buildFlags) addImageFormatFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.format, "format", build.FormatOCI, "image format: oci or docker (docker schema 2 media types)")
	fs.StringVar(&f.compression, "compression", build.CompressionGzip, "compression of new layers: gzip, zstd or uncompressed")
}
