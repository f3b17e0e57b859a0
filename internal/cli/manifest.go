package cli

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zbuild/zbuild/build"
)

// newManifestCmd groups the manifest list commands, named as buildah's and
// podman's `manifest` commands.
func newManifestCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "manifest",
		Short: "Assemble multi-platform manifest lists (OCI image indexes) by hand",
		Long: `manifest creates an image index in the local store, adds per-platform images
to it (from the store, or pulled from a registry) and pushes it with all its
images.`,
	}
	cmd.AddCommand(newManifestCreateCmd(g), newManifestAddCmd(g), newManifestPushCmd(g), newManifestInspectCmd(g))
	return cmd
}

func newManifestCreateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "create LIST [IMAGE...]",
		Short:   "Create a manifest list, optionally with images",
		Example: `  zbuild manifest create localhost/app:1 app:1-amd64 app:1-arm64`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr{fmt.Errorf("manifest create needs a list name")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := build.ManifestCreate(cmd.Context(), g.rootDir(), args[0], args[1:], g.registry)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, d)
			return err
		},
	}
}

func newManifestAddCmd(g *globals) *cobra.Command {
	var platform string
	cmd := &cobra.Command{
		Use:   "add [flags] LIST IMAGE",
		Short: "Add an image to a manifest list",
		Long: `add puts IMAGE (from the local store, else pulled from its registry) into LIST
under the platform of its config, or --platform. An entry for the same image
is replaced.`,
		Example: `  zbuild manifest add localhost/app:1 app:1-arm64
  zbuild manifest add --platform linux/arm/v7 localhost/app:1 registry.example.com/app:1-armv7`,
		Args: exactArgs(2, "LIST IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := build.ManifestAddOptions{Root: g.rootDir(), List: args[0], Image: args[1], Registry: g.registry}
			if platform != "" {
				p, err := build.ParsePlatform(platform)
				if err != nil {
					return err
				}
				opts.Platform = &p
			}
			d, err := build.ManifestAdd(cmd.Context(), opts)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, d)
			return err
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "record the image under this os/arch[/variant] (default: its config's)")
	return cmd
}

func newManifestPushCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "push LIST [DESTINATION]",
		Short:   "Push a manifest list and all its images",
		Example: `  zbuild manifest push localhost/app:1 registry.example.com/team/app:1`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageErr{fmt.Errorf("expected LIST [DESTINATION], got %d argument(s)", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := build.PushOptions{Root: g.rootDir(), Image: args[0], Registry: g.registry}
			if len(args) == 2 {
				opts.Dest = args[1]
			}
			res, err := build.Push(cmd.Context(), opts)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s@%s\n", res.Dest, res.Digest)
			return err
		},
	}
}

func newManifestInspectCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "inspect LIST",
		Short:   "Print a stored manifest list as JSON",
		Example: `  zbuild manifest inspect localhost/app:1`,
		Args:    exactArgs(1, "LIST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := build.ManifestInspect(cmd.Context(), g.rootDir(), args[0])
			if err != nil {
				return err
			}
			var out bytes.Buffer
			if err := json.Indent(&out, raw, "", "  "); err != nil {
				return fmt.Errorf("formatting the manifest list: %w", err)
			}
			out.WriteByte('\n')
			_, err = g.stdout.Write(out.Bytes())
			return err
		},
	}
}
