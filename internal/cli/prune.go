package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/zbuild/zbuild/build"
)

func newPruneCmd(g *globals) *cobra.Command {
	var (
		all         bool
		keepStorage string
		filters     []string
	)
	cmd := &cobra.Command{
		Use:   "prune [flags]",
		Short: "Free disk space: untagged images, unreferenced blobs and layers, build cache",
		Long: `prune removes untagged images and every blob and unpacked layer that no image
and no cache record refers to. Build cache records are kept unless asked:
  --filter until=24h   also remove cache records not used for 24 hours
  --keep-storage 10GB  also remove cache records, least recently used first,
                       until the store uses at most 10 GB
  --all                remove every cache record and every cache mount too`,
		Example: `  zbuild prune
  zbuild prune --filter until=72h
  zbuild prune --keep-storage 20GB
  zbuild prune --all`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := build.PruneOptions{Untagged: true}
			pruneCache := all
			for _, f := range filters {
				k, v, ok := strings.Cut(f, "=")
				if !ok || k != "until" {
					return &build.UsageError{Flag: "--filter", Value: f, Msg: "only until=DURATION is supported (e.g. until=24h)"}
				}
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return &build.UsageError{Flag: "--filter", Value: f, Msg: "want a positive duration such as 24h or 90m"}
				}
				opts.Until, pruneCache = d, true
			}
			if keepStorage != "" {
				n, err := units.RAMInBytes(keepStorage)
				if err != nil || n <= 0 {
					return &build.UsageError{Flag: "--keep-storage", Value: keepStorage, Msg: "want a size such as 10GB or 500MB"}
				}
				opts.KeepStorage, pruneCache = n, true
			}
			st, err := g.openStore()
			if err != nil {
				return err
			}
			if !pruneCache {
				// Keep every cache record: with a far Until, PruneCache
				// removes none.
				opts.Until = 100 * 365 * 24 * time.Hour
			}
			if all {
				opts.Until = 0
			}
			res, err := st.Prune(cmd.Context(), opts, all)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Removed %d untagged image(s), %d cache record(s), %d blob(s), %d unpacked layer(s)\n",
				res.Images, res.Records, res.GC.Blobs, res.GC.Layers)
			fmt.Fprintf(g.stdout, "Total reclaimed space: %s (store now %s)\n", units.BytesSize(float64(max(res.Reclaim, 0))), units.BytesSize(float64(res.Remains)))
			if res.Exceeded {
				fmt.Fprintf(g.stderr, "WARNING: images alone use more than --keep-storage %s; remove images with zbuild rmi\n", keepStorage)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "also remove every cache record and cache mount")
	cmd.Flags().StringVar(&keepStorage, "keep-storage", "", "remove least recently used cache until the store is at most this size (e.g. 10GB)")
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "remove cache records matching: until=DURATION")
	return cmd
}

func newDfCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "df",
		Short:   "Show the disk space the store uses, by kind",
		Example: "  zbuild df\n  zbuild df --format json",
		Args:    exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.openStore()
			if err != nil {
				return err
			}
			u, err := st.DiskUsage(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(u)
			}
			size := func(n int64) string { return units.BytesSize(float64(n)) }
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "KIND\tCOUNT\tSIZE")
			fmt.Fprintf(tw, "images\t%d\t%s\n", u.ImageCount, size(u.Images))
			fmt.Fprintf(tw, "build cache (layers only records keep)\t%d\t%s\n", u.CacheRecords, size(u.CacheOnly))
			fmt.Fprintf(tw, "unpacked layers\t\t%s\n", size(u.Layers))
			fmt.Fprintf(tw, "cache mounts\t\t%s\n", size(u.CacheMounts))
			fmt.Fprintf(tw, "unreferenced (zbuild prune frees)\t\t%s\n", size(u.Unreferenced))
			fmt.Fprintf(tw, "other\t\t%s\n", size(u.Other))
			fmt.Fprintf(tw, "total\t\t%s\n", size(u.Total))
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}
