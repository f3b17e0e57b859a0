package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/zbuild/zbuild/build"
)

func (g *globals) openStore() (*build.Images, error) {
	return build.OpenImages(g.rootDir())
}

func newImagesCmd(g *globals) *cobra.Command {
	var (
		quiet   bool
		noTrunc bool
		format  string
	)
	cmd := &cobra.Command{
		Use:     "images",
		Aliases: []string{"image-list"},
		Short:   "List images in the local store",
		Example: "  zbuild images\n  zbuild images -q\n  zbuild images --format json",
		Args:    exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.openStore()
			if err != nil {
				return err
			}
			list, err := st.List(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			if quiet {
				for _, im := range list {
					fmt.Fprintln(g.stdout, shortID(im.Digest.Hex, noTrunc))
				}
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
			for _, im := range list {
				id := shortID(im.Digest.Hex, noTrunc)
				created := humanAge(im.Created)
				if len(im.Tags) == 0 {
					fmt.Fprintf(tw, "<none>\t<none>\t%s\t%s\t%s\n", id, created, humanSize(im.Size))
				}
				for _, t := range im.Tags {
					repo, tag := splitTag(t)
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", repo, tag, id, created, humanSize(im.Size))
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only image IDs")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "print full image IDs")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func newInspectCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "inspect IMAGE",
		Short:   "Show an image's manifest, config, layers and history as JSON",
		Example: "  zbuild inspect app:dev\n  zbuild inspect 3f2a9c1b",
		Args:    exactArgs(1, "an image name or ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.openStore()
			if err != nil {
				return err
			}
			img, digest, err := st.Image(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			manifest, err := img.Manifest()
			if err != nil {
				return err
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				return err
			}
			var tags []string
			list, err := st.List(cmd.Context())
			if err != nil {
				return err
			}
			for _, im := range list {
				if im.Digest == digest {
					tags = im.Tags
				}
			}
			out := map[string]any{
				"Id":           digest.String(),
				"RepoTags":     tags,
				"Created":      cfg.Created.Time,
				"Architecture": cfg.Architecture,
				"Os":           cfg.OS,
				"Config":       cfg.Config,
				"RootFS":       cfg.RootFS,
				"History":      cfg.History,
				"Manifest":     manifest,
			}
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode([]any{out})
		},
	}
}

func newRmiCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "rmi IMAGE...",
		Short:   "Remove images (tags) from the local store",
		Long:    "rmi removes a tag, and the image once no tag is left; given an ID it removes the image with all its tags. Disk space is freed by zbuild prune.",
		Example: "  zbuild rmi app:dev\n  zbuild rmi 3f2a9c1b",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr{fmt.Errorf("rmi needs at least one image")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.openStore()
			if err != nil {
				return err
			}
			for _, a := range args {
				rm, err := st.Remove(cmd.Context(), a)
				if err != nil {
					return err
				}
				for _, t := range rm.Untagged {
					fmt.Fprintln(g.stdout, "Untagged:", t)
				}
				for _, d := range rm.Deleted {
					fmt.Fprintln(g.stdout, "Deleted:", d)
				}
			}
			return nil
		},
	}
}

func newTagCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "tag SOURCE TARGET",
		Short:   "Give a stored image another name",
		Example: "  zbuild tag app:dev registry.example.com/team/app:1.0",
		Args:    exactArgs(2, "a source image and a new name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.openStore()
			if err != nil {
				return err
			}
			return st.Tag(cmd.Context(), args[0], args[1])
		},
	}
}

func shortID(hex string, full bool) string {
	if full || len(hex) < 12 {
		return hex
	}
	return hex[:12]
}

func splitTag(ref string) (repo, tag string) {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

func humanAge(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "Less than a minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

func humanSize(n int64) string {
	const unit = 1000.0
	f := float64(n)
	for _, u := range []string{"B", "kB", "MB", "GB"} {
		if f < unit {
			if u == "B" {
				return fmt.Sprintf("%d%s", n, u)
			}
			return fmt.Sprintf("%.3g%s", f, u)
		}
		f /= unit
	}
	return fmt.Sprintf("%.3gTB", f)
}
