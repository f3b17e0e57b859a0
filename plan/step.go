package plan

// Run executes a command in a container over the stage's current root file
// system; what the command changes becomes one layer.
type Run struct {
	// Args is the final argv. For shell form the front-end has already
	// prepended the stage's shell (e.g. ["/bin/sh", "-c", "make"]).
	Args []string `json:"args"`
	// Files are heredoc scripts mounted read-only into the container under
	// FilesDir and referred to by Args (BuildKit runs a single heredoc that
	// starts with "#!" as an executable file).
	Files []InlineFile `json:"files,omitempty"`
	// BuildArgs are the ARG values in scope, passed as environment to this
	// command only (never stored in the image). The engine adds one only
	// when the image environment does not already define that name: ENV
	// takes precedence over ARG, as in BuildKit.
	BuildArgs []KV `json:"buildArgs,omitempty"`
	// Mounts are RUN --mount entries.
	Mounts []Mount `json:"mounts,omitempty"`
	// Network is "", "default", "none" or "host" (RUN --network); ""
	// means the build's default.
	Network string `json:"network,omitempty"`
	// Security is "", "sandbox" or "insecure" (RUN --security).
	Security string `json:"security,omitempty"`
}

// FilesDir is where Run.Files are mounted inside the container.
const FilesDir = "/dev/pipes"

// MountType is the type of a RUN --mount.
type MountType string

// Mount types, as in the Dockerfile reference.
const (
	MountBind   MountType = "bind"
	MountCache  MountType = "cache"
	MountTmpfs  MountType = "tmpfs"
	MountSecret MountType = "secret"
	MountSSH    MountType = "ssh"
)

// Sharing modes of cache mounts.
const (
	SharingShared  = "shared"
	SharingPrivate = "private"
	SharingLocked  = "locked"
)

// Mount is one RUN --mount. Fields that do not apply to Type are zero.
type Mount struct {
	Type   MountType `json:"type"`
	Target string    `json:"target,omitempty"`
	// Source is a path inside From (bind, cache). Host paths never appear
	// in a plan: secrets and ssh agents are named by ID and supplied by the
	// build's options.
	Source string `json:"source,omitempty"`
	// From is where bind and cache mount sources come from; zero means the
	// build context (bind) or an empty cache directory (cache).
	From     From `json:"from,omitempty"`
	ReadOnly bool `json:"readonly,omitempty"`
	// ID names a cache (defaults to Target), a secret or an ssh agent.
	ID string `json:"id,omitempty"`
	// Sharing is the cache sharing mode (SharingShared when empty).
	Sharing string `json:"sharing,omitempty"`
	// Required makes a missing secret or ssh agent an error.
	Required bool `json:"required,omitempty"`
	// Env exposes a secret as an environment variable of this name.
	Env string `json:"env,omitempty"`
	// Mode, UID and GID set the mount's root (cache) or file (secret, ssh)
	// ownership and permissions; nil means the default.
	Mode *uint32 `json:"mode,omitempty"`
	UID  *uint32 `json:"uid,omitempty"`
	GID  *uint32 `json:"gid,omitempty"`
	// Size limits a tmpfs mount, in bytes; 0 means no limit.
	Size int64 `json:"size,omitempty"`
}

// FromKind says where COPY --from and mount sources are read from.
type FromKind string

// From kinds.
const (
	// FromContext (the zero value) is the build context.
	FromContext FromKind = ""
	// FromStage is the result of an earlier stage.
	FromStage FromKind = "stage"
	// FromImage is an image reference, resolved by the engine.
	FromImage FromKind = "image"
)

// From is the source of COPY --from or a mount.
type From struct {
	Kind  FromKind `json:"kind,omitempty"`
	Stage int      `json:"stage,omitempty"`
	Ref   string   `json:"ref,omitempty"`
}

// IsZero reports whether f is the build context.
func (f From) IsZero() bool { return f == From{} }

// Transfer is what COPY and ADD share: sources placed at a destination.
type Transfer struct {
	// Sources are paths or patterns relative to the source root (the
	// context or the From stage/image), or URLs for ADD.
	Sources []string `json:"sources,omitempty"`
	// Inline are heredoc sources (COPY <<EOF dest).
	Inline []InlineFile `json:"inline,omitempty"`
	// Dest is the destination; relative paths are relative to the working
	// directory, and a trailing "/" marks a directory.
	Dest string `json:"dest"`
	// Chown is "user[:group]" by name or id, resolved in the stage's
	// /etc/passwd and /etc/group; "" keeps 0:0.
	Chown string `json:"chown,omitempty"`
	// Chmod is an octal (0755) or symbolic (u+x) mode; "" keeps the source mode.
	Chmod   string   `json:"chmod,omitempty"`
	Link    bool     `json:"link,omitempty"`
	Parents bool     `json:"parents,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
}

// Copy is a COPY instruction.
type Copy struct {
	From From `json:"from,omitempty"`
	Transfer
}

// Add is an ADD instruction: a COPY that also extracts local archives and
// fetches URLs and git repositories.
type Add struct {
	Transfer
	// Checksum verifies a URL source ("sha256:…").
	Checksum string `json:"checksum,omitempty"`
	// KeepGitDir keeps .git for git sources.
	KeepGitDir bool `json:"keepGitDir,omitempty"`
	// Unpack overrides archive extraction (ADD --unpack); nil means the
	// default (local archives are extracted, URLs are not).
	Unpack *bool `json:"unpack,omitempty"`
}

// Config changes the image configuration only; it starts no process and, but
// for Workdir (which the engine creates when missing), writes no layer.
// Each set field replaces the value (Env and Labels add to it).
type Config struct {
	Env    []KV `json:"env,omitempty"`
	Labels []KV `json:"labels,omitempty"`
	// ExposedPorts are "port/proto" entries ("80/tcp"), ranges expanded.
	ExposedPorts []string `json:"exposedPorts,omitempty"`
	Volumes      []string `json:"volumes,omitempty"`
	User         *string  `json:"user,omitempty"`
	// Workdir is absolute (the front-end resolves relative paths).
	Workdir *string  `json:"workdir,omitempty"`
	Shell   []string `json:"shell,omitempty"`
	// Cmd and Entrypoint: nil leaves the value, a non-nil empty slice
	// clears it (ENTRYPOINT clears an inherited CMD, as in Docker).
	Cmd         *[]string    `json:"cmd,omitempty"`
	Entrypoint  *[]string    `json:"entrypoint,omitempty"`
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
	StopSignal  string       `json:"stopSignal,omitempty"`
	// OnBuild are trigger instructions recorded in the image.
	OnBuild    []string `json:"onBuild,omitempty"`
	Maintainer string   `json:"maintainer,omitempty"`
	// Args lists the names an ARG step declares; they change nothing in
	// the image but are kept so history and cache keys see them.
	Args []string `json:"args,omitempty"`
}

// Healthcheck is the HEALTHCHECK configuration. Test ["NONE"] disables an
// inherited check. Durations are in nanoseconds, 0 meaning the default.
type Healthcheck struct {
	Test          []string `json:"test"`
	Interval      int64    `json:"interval,omitempty"`
	Timeout       int64    `json:"timeout,omitempty"`
	StartPeriod   int64    `json:"startPeriod,omitempty"`
	StartInterval int64    `json:"startInterval,omitempty"`
	Retries       int      `json:"retries,omitempty"`
}
