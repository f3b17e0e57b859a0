package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/pflag"

	"github.com/zbuild/zbuild/build"
)

// buildFlags are the flags of `zbuild build` and `zbuild plan`, named as in
// `docker build` and `buildah build`.
type buildFlags struct {
	// file is -f: the Dockerfile path, or "-" for stdin.
	file string
	// tags are -t NAME[:TAG], repeatable.
	tags []string
	// buildArgs are --build-arg KEY[=VALUE]; StringArray so values may hold commas.
	buildArgs []string
	// target is --target STAGE.
	target string
	// platform is --platform os/arch[/variant].
	platform string
	// noCache is --no-cache.
	noCache bool
	// noCacheFilter is --no-cache-filter STAGE (repeatable).
	noCacheFilter []string
	// maxStorage is --max-storage SIZE (default $ZBUILD_MAX_STORAGE).
	maxStorage string
	// cacheFrom and cacheTo are --cache-from/--cache-to specs.
	cacheFrom, cacheTo []string
	// pull is --pull[=missing|always|never]; a bare --pull means always.
	pull string
	// outputs are --output/-o values.
	outputs []string
	// iidfile is --iidfile FILE.
	iidfile string
	// metadataFile is --metadata-file FILE.
	metadataFile string
	// push is --push: send the image to the registry of every -t name.
	push bool
	// format is --format oci|docker (image media types).
	format string
	// compression is --compression gzip|zstd|uncompressed.
	compression string
	// progress is --progress auto|plain|json|quiet.
	progress string
	// quiet is -q: print only the image ID.
	quiet bool
	// timestamps is --progress-timestamps: elapsed times on plain output lines.
	timestamps bool
	// secrets are --secret id=…,src=…|env=….
	secrets []string
	// ssh are --ssh default|ID=PATH.
	ssh []string
	// network is --network default|none|host.
	network string
	// labels are --label KEY=VALUE.
	labels []string
	// jobs is --jobs N.
	jobs int
	// sourceDateEpoch is --source-date-epoch SECONDS (default $SOURCE_DATE_EPOCH).
	sourceDateEpoch string
	// backend is --backend native|buildah|auto (default $ZBUILD_BACKEND, then auto).
	backend string
}

func (f *buildFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&f.file, "file", "f", "", "Dockerfile path (default CONTEXT/Dockerfile, then CONTEXT/Containerfile; - reads stdin)")
	fs.StringArrayVarP(&f.tags, "tag", "t", nil, "name the image NAME[:TAG] (repeatable)")
	fs.StringArrayVar(&f.buildArgs, "build-arg", nil, "set a build-time variable KEY=VALUE (KEY alone takes it from the environment)")
	fs.StringVar(&f.target, "target", "", "build this stage (default: the last one)")
	fs.StringVar(&f.platform, "platform", "", "target platform os/arch[/variant]; several, comma-separated, build an image index (default: the host's)")
	fs.BoolVar(&f.noCache, "no-cache", false, "run every step instead of reusing cached results")
	fs.StringArrayVar(&f.noCacheFilter, "no-cache-filter", nil, "run every step of this stage (name or index) without the cache (repeatable)")
	fs.StringArrayVar(&f.cacheFrom, "cache-from", nil, "import build cache: type=registry,ref=REPO[:TAG] or type=local,src=DIR")
	fs.StringArrayVar(&f.cacheTo, "cache-to", nil, "export build cache: type=registry,ref=REPO[:TAG][,mode=min|max] or type=local,dest=DIR[,mode=…]")
	fs.StringVar(&f.maxStorage, "max-storage", os.Getenv("ZBUILD_MAX_STORAGE"), "after the build, trim the least recently used cache until the store is at most this size, e.g. 20GB (default $ZBUILD_MAX_STORAGE)")
	fs.StringVar(&f.pull, "pull", string(build.PullMissing), "pull base images: missing, always or never (--pull alone means always)")
	fs.Lookup("pull").NoOptDefVal = string(build.PullAlways)
	fs.StringArrayVarP(&f.outputs, "output", "o", nil, "output destination: type=image|oci|docker|tar|local[,dest=PATH], type=image,name=REF,push=true or type=registry,name=REF (default: the local store)")
	fs.StringVar(&f.iidfile, "iidfile", "", "write the image ID to this file")
	fs.StringVar(&f.metadataFile, "metadata-file", "", "write the build result (digests, names) as JSON to this file")
	fs.BoolVar(&f.push, "push", false, "push the image to the registry of every -t name after the build")
	fs.StringVar(&f.progress, "progress", "auto", "progress output: auto, plain, json or quiet")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print only the image ID")
	fs.BoolVar(&f.timestamps, "progress-timestamps", false, "prefix plain progress output lines with the time since their step started (also $ZBUILD_PROGRESS_TIMESTAMPS=1)")
	fs.StringArrayVar(&f.secrets, "secret", nil, "secret for RUN --mount=type=secret: id=ID[,src=FILE|,env=VAR]")
	fs.StringArrayVar(&f.ssh, "ssh", nil, "ssh agent socket or keys for RUN --mount=type=ssh: default|ID[=SOCKET|KEY,…]")
	fs.StringVar(&f.network, "network", "default", "network for RUN steps: default (the host's network), none or host")
	fs.StringArrayVar(&f.labels, "label", nil, "add a label KEY=VALUE to the image")
	fs.IntVar(&f.jobs, "jobs", 0, "stages to run at once (default: the number of CPUs)")
	fs.StringVar(&f.sourceDateEpoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "clamp timestamps to this Unix time for reproducible images (default $SOURCE_DATE_EPOCH)")
	fs.StringVar(&f.backend, "backend", os.Getenv(build.BackendEnv), "build with: native (zbuild's engine), buildah (the buildah CLI) or auto (native when usable, else buildah) (default $ZBUILD_BACKEND, then auto)")
}

// options validates the flags and turns them into library options.
func (f *buildFlags) options(contextDir string, stdin io.Reader) (build.Options, error) {
	opts := build.Options{ContextDir: contextDir, Dockerfile: f.file, Target: f.target, Tags: f.tags, NoCache: f.noCache, NoCacheFilter: f.noCacheFilter, IIDFile: f.iidfile, MetadataFile: f.metadataFile, Push: f.push, Format: f.format, Compression: f.compression, Jobs: f.jobs}
	if err := build.CheckImageFormat(f.format, f.compression); err != nil {
		return opts, err
	}
	if f.push && len(f.tags) == 0 {
		return opts, &build.UsageError{Flag: "--push", Value: "true", Msg: "needs at least one -t REGISTRY/REPO[:TAG] to push to"}
	}
	var err error
	if opts.BuildArgs, err = build.ParseKeyValues("--build-arg", f.buildArgs, os.LookupEnv); err != nil {
		return opts, err
	}
	if opts.Labels, err = build.ParseKeyValues("--label", f.labels, nil); err != nil {
		return opts, err
	}
	if f.platform != "" {
		for _, s := range strings.Split(f.platform, ",") {
			p, err := build.ParsePlatform(s)
			if err != nil {
				return opts, err
			}
			opts.Platforms = append(opts.Platforms, p)
		}
	}
	switch build.PullPolicy(f.pull) {
	case build.PullMissing, build.PullAlways, build.PullNever:
		opts.Pull = build.PullPolicy(f.pull)
	case "true":
		opts.Pull = build.PullAlways
	case "false":
		opts.Pull = build.PullMissing
	default:
		return opts, &build.UsageError{Flag: "--pull", Value: f.pull, Msg: "want missing, always or never"}
	}
	for _, o := range f.outputs {
		out, err := build.ParseOutput(o)
		if err != nil {
			return opts, err
		}
		opts.Outputs = append(opts.Outputs, out)
	}
	for _, s := range f.secrets {
		sec, err := build.ParseSecret(s)
		if err != nil {
			return opts, err
		}
		opts.Secrets = append(opts.Secrets, sec)
	}
	for _, s := range f.ssh {
		ssh, err := build.ParseSSH(s)
		if err != nil {
			return opts, err
		}
		opts.SSH = append(opts.SSH, ssh)
	}
	switch f.network {
	case "default", "none", "host":
		opts.Network = f.network
	default:
		return opts, &build.UsageError{Flag: "--network", Value: f.network, Msg: "want default, none or host"}
	}
	switch f.progress {
	case "auto", "tty", "plain", "json", "rawjson", "quiet":
	default:
		return opts, &build.UsageError{Flag: "--progress", Value: f.progress, Msg: "want auto, plain, json or quiet"}
	}
	for _, c := range f.cacheFrom {
		spec, err := build.ParseCache("--cache-from", c)
		if err != nil {
			return opts, err
		}
		opts.CacheFrom = append(opts.CacheFrom, spec)
	}
	for _, c := range f.cacheTo {
		spec, err := build.ParseCache("--cache-to", c)
		if err != nil {
			return opts, err
		}
		opts.CacheTo = append(opts.CacheTo, spec)
	}
	if f.maxStorage != "" {
		n, err := units.RAMInBytes(f.maxStorage)
		if err != nil || n <= 0 {
			return opts, &build.UsageError{Flag: "--max-storage", Value: f.maxStorage, Msg: "want a size such as 20GB"}
		}
		opts.MaxStorage = n
	}
	switch f.backend {
	case "", build.BackendAuto, build.BackendNative, build.BackendBuildah:
		opts.Backend = f.backend
	default:
		return opts, &build.UsageError{Flag: "--backend", Value: f.backend, Msg: "want native, buildah or auto"}
	}
	if f.jobs < 0 {
		return opts, &build.UsageError{Flag: "--jobs", Value: strconv.Itoa(f.jobs), Msg: "must be 0 (all CPUs) or more"}
	}
	if f.sourceDateEpoch != "" {
		sec, err := strconv.ParseInt(f.sourceDateEpoch, 10, 64)
		if err != nil || sec < 0 {
			return opts, &build.UsageError{Flag: "--source-date-epoch", Value: f.sourceDateEpoch, Msg: "want a non-negative Unix time in seconds"}
		}
		t := time.Unix(sec, 0).UTC()
		opts.SourceDateEpoch = &t
	}
	if f.file == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return opts, fmt.Errorf("reading Dockerfile from stdin: %w", err)
		}
		opts.DockerfileContent = data
	}
	return opts, nil
}
