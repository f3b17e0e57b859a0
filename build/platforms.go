package build

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/zbuild/zbuild/internal/output"
	"github.com/zbuild/zbuild/internal/registry"
	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// binfmtDir is where the kernel lists its binfmt_misc handlers.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// qemuNames maps GOARCH names to the names qemu-user's binfmt handlers
// are registered under (qemu-NAME), as Debian's qemu-user-static does.
var qemuNames = map[string]string{
	"amd64":    "x86_64",
	"386":      "i386",
	"arm64":    "aarch64",
	"arm":      "arm",
	"riscv64":  "riscv64",
	"s390x":    "s390x",
	"ppc64le":  "ppc64le",
	"mips64le": "mips64el",
	"loong64":  "loongarch64",
}

// PlatformError says that a build needs to run programs of a platform this
// host cannot run.
type PlatformError struct {
	Platform plan.Platform
	Stage    string
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("stage %s runs RUN steps for %s, but this %s host cannot run %s programs: no enabled binfmt_misc handler qemu-%s in %s (install qemu-user-static and binfmt-support), or build that platform on a matching host; stages with only COPY/ADD/metadata build for any platform",
		e.Stage, e.Platform, runtime.GOARCH, e.Platform.Architecture, qemuNames[e.Platform.Architecture], binfmtDir)
}

// canRun reports whether this host runs programs of arch, natively or
// through an enabled binfmt_misc handler.
func canRun(arch string) bool {
	if arch == runtime.GOARCH || (runtime.GOARCH == "amd64" && arch == "386") {
		return true
	}
	q, ok := qemuNames[arch]
	if !ok {
		return false
	}
	f, err := os.Open(filepath.Join(binfmtDir, "qemu-"+q))
	if err != nil {
		return false
	}
	defer f.Close()
	first, err := bufio.NewReader(f).ReadString('\n')
	return (err == nil || err == io.EOF) && strings.TrimSpace(first) == "enabled"
}

// checkRunnable fails with a *PlatformError when a needed stage has RUN
// steps for a platform the host cannot run. Base images' ONBUILD triggers
// are not known yet here; a RUN they add fails in the runtime instead.
func checkRunnable(g *plan.Graph) error {
	for _, i := range g.Needed() {
		st := g.Stages[i]
		if canRun(st.Platform.Architecture) {
			continue
		}
		for _, step := range st.Steps {
			if step.Run != nil {
				name := st.Name
				if name == "" {
					name = fmt.Sprint(st.Index)
				}
				return &PlatformError{Platform: st.Platform, Stage: name}
			}
		}
	}
	return nil
}

// runPlatforms builds opts once per platform and assembles the results
// into an image index, which it stores under the tags, writes to the
// outputs and pushes. Each platform's image is stored untagged.
func runPlatforms(ctx context.Context, opts Options) (*Result, error) {
	start := time.Now()
	for _, p := range opts.Platforms {
		one := opts
		one.Platforms = []plan.Platform{p}
		pr, err := Plan(ctx, one, nil)
		if err != nil {
			return nil, err
		}
		if err := checkRunnable(pr.Graph); err != nil {
			return nil, err
		}
	}
	for _, o := range opts.Outputs {
		switch o.Type {
		case "image", "registry", "oci":
		default:
			return nil, &UsageError{"--output", "type=" + o.Type, "holds one platform's image: build one --platform for it, or use type=oci or type=image"}
		}
		if err := checkPushOutput(o); err != nil {
			return nil, err
		}
	}
	var (
		adds  []mutate.IndexAddendum
		total Result
	)
	for _, p := range opts.Platforms {
		one := opts
		one.Platforms = []plan.Platform{p}
		one.Tags, one.Outputs, one.Push, one.IIDFile, one.MetadataFile = nil, nil, false, "", ""
		res, err := Run(ctx, one)
		if err != nil {
			return nil, fmt.Errorf("building for %s: %w", p, err)
		}
		mt, err := res.Image.MediaType()
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: res.Image, Descriptor: v1.Descriptor{
			MediaType: mt,
			Platform:  &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant},
		}})
		total.Steps += res.Steps
		total.Layers += res.Layers
		if total.Image == nil || p.Architecture == runtime.GOARCH {
			total.Image = res.Image
		}
	}
	indexType := types.OCIImageIndex
	if opts.Format == FormatDocker {
		indexType = types.DockerManifestList
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, indexType), adds...)
	if err := writeIndexOutputs(ctx, idx, opts, &total); err != nil {
		return nil, err
	}
	if opts.IIDFile != "" {
		if err := os.WriteFile(opts.IIDFile, []byte(total.ImageID), 0o644); err != nil {
			return nil, fmt.Errorf("writing --iidfile: %w", err)
		}
	}
	if opts.MetadataFile != "" {
		if err := writeMetadata(opts.MetadataFile, &total); err != nil {
			return nil, err
		}
	}
	total.Duration = time.Since(start)
	return &total, nil
}

// writeIndexOutputs stores idx under the tags, writes the oci outputs and
// pushes it; res gets the index digest as its ImageID.
func writeIndexOutputs(ctx context.Context, idx v1.ImageIndex, opts Options, res *Result) error {
	st, unlock, err := openShared(ctx, opts.Root)
	if err != nil {
		return err
	}
	defer unlock()
	tags := append([]string(nil), opts.Tags...)
	for _, o := range opts.Outputs {
		if (o.Type == "image" || o.Type == "registry") && o.Attrs["name"] != "" {
			tags = append(tags, o.Attrs["name"])
		}
	}
	d, err := st.PutIndex(ctx, idx, tags...)
	if err != nil {
		return fmt.Errorf("storing the image index: %w", err)
	}
	res.ImageID, res.Tags = d.String(), tags
	ref := ""
	if len(tags) > 0 {
		ref = tags[0]
	}
	for _, o := range opts.Outputs {
		if o.Type != "oci" {
			continue
		}
		items := []savedItem{{ref: ref, idx: idx}}
		if output.IsTarPath(o.Dest) && o.Attrs["tar"] != "false" {
			tmp, err := st.TempDir("oci-output-")
			if err != nil {
				return err
			}
			err = saveLayout(items, tmp)
			if err == nil {
				err = output.ToFile(o.Dest, os.Stdout, func(w io.Writer) error { return tarDir(ctx, tmp, w) })
			}
			os.RemoveAll(tmp)
			if err != nil {
				return fmt.Errorf("output type=oci,dest=%s: %w", o.Dest, err)
			}
		} else if err := saveLayout(items, o.Dest); err != nil {
			return fmt.Errorf("output type=oci,dest=%s: %w", o.Dest, err)
		}
	}
	events := opts.Progress
	if events == nil {
		events = progress.Discard
	}
	for _, dest := range pushTargets(opts) {
		start := time.Now()
		events.Emit(progress.Event{Time: start, Kind: progress.Info, Line: "pushing " + dest})
		pd, err := registry.PushIndex(ctx, idx, dest, opts.Registry.internal(), registry.PushOptions{})
		if err != nil {
			return err
		}
		events.Emit(progress.Event{Time: time.Now(), Kind: progress.Info, Line: fmt.Sprintf("pushed %s@%s", dest, pd), Duration: time.Since(start)})
	}
	return nil
}
