package build

import (
	"time"

	"github.com/zbuild/zbuild/plan"
	"github.com/zbuild/zbuild/progress"
)

// Options describe one build. The zero value of every field is a sensible
// default; only ContextDir is required.
type Options struct {
	// ContextDir is the build context directory.
	ContextDir string
	// Dockerfile is the path of the Dockerfile. "" looks for Dockerfile,
	// then Containerfile, in ContextDir; "-" means DockerfileContent.
	Dockerfile string
	// DockerfileContent is the Dockerfile itself when read from stdin.
	DockerfileContent []byte
	// BuildArgs are --build-arg values.
	BuildArgs map[string]string
	// Target is the stage to build; "" is the last stage.
	Target string
	// Platforms to build for; empty is the host platform.
	Platforms []plan.Platform
	// Tags name the resulting image in the local store.
	Tags []string
	// Labels are added to the image config.
	Labels map[string]string
	// NoCache runs every step instead of reusing cached results.
	NoCache bool
	// NoCacheFilter runs every step of these stages (names or indexes).
	NoCacheFilter []string
	// CacheFrom are shared caches whose records are imported before the
	// build; CacheTo where this build's records are exported after it.
	CacheFrom, CacheTo []CacheSpec
	// MaxStorage, when > 0, caps the store: after the build, cache records
	// are removed least recently used first until the store fits.
	MaxStorage int64
	// Pull is the base image pull policy (default PullMissing).
	Pull PullPolicy
	// Outputs are where the result goes; empty is the local store.
	Outputs []Output
	// Push sends the image to the registry of every tag after the build
	// (`build --push`); outputs with push=true or type=registry push too.
	Push bool
	// Registry says how base images are pulled and results pushed.
	Registry RegistryOptions
	// Format is the image format: FormatOCI (default) or FormatDocker
	// (docker schema 2 media types, for registries and tools that need it).
	Format string
	// Compression of the layers the build writes: CompressionGzip
	// (default), CompressionZstd or CompressionUncompressed. Base image
	// layers keep theirs.
	Compression string
	// IIDFile receives the image ID (the manifest digest).
	IIDFile string
	// MetadataFile receives the result as JSON, in the shape of buildx's
	// --metadata-file ("containerimage.digest", "image.name"…).
	MetadataFile string
	// Secrets and SSH are what RUN --mount=type=secret|ssh may use.
	Secrets []Secret
	SSH     []SSH
	// Network is the default network mode of RUN steps: "default", "none"
	// or "host".
	Network string
	// Jobs bounds how many stages run at once; 0 is the number of CPUs.
	Jobs int
	// Root is the store's data root; "" is the default root.
	Root string
	// SourceDateEpoch, when set, clamps timestamps for reproducible images.
	SourceDateEpoch *time.Time
	// Progress receives build events; nil discards them.
	Progress progress.Sink
	// Backend is "native", "buildah" or "auto"; "" reads ZBUILD_BACKEND,
	// then means auto (see SelectBackend).
	Backend string
}

// PullPolicy says when base images are fetched from their registry.
type PullPolicy string

// Pull policies, as in `docker build --pull` and `buildah --pull`.
const (
	PullMissing PullPolicy = "missing"
	PullAlways  PullPolicy = "always"
	PullNever   PullPolicy = "never"
)

// Output is one --output destination.
type Output struct {
	// Type is "image" (the local store), "oci", "docker", "tar" or "local".
	Type string
	// Dest is the file or directory (oci, docker, tar, local).
	Dest string
	// Attrs holds the other key=value options (name=, push=…).
	Attrs map[string]string
}

// Secret is one --secret: its ID, read from a file or an environment variable.
type Secret struct {
	ID  string
	Src string // file path
	Env string // environment variable name
}

// SSH is one --ssh: an agent socket or keys forwarded to RUN --mount=type=ssh.
type SSH struct {
	ID    string
	Paths []string // empty means $SSH_AUTH_SOCK
}
