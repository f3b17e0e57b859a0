package build

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/zbuild/zbuild/internal/registry"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/progress"
)

// RegistryOptions say how pulls and pushes reach registries. The zero
// value uses HTTPS (plain HTTP for loopback hosts), Docker Hub for short
// names, the system's CAs plus /etc/docker/certs.d, and credentials from
// the Docker config or Podman's auth.json.
type RegistryOptions struct {
	// Insecure lists hosts ("host[:port]") reached over plain HTTP, or
	// over HTTPS without certificate checks.
	Insecure []string
	// DefaultRegistry is the registry of names without one ("app:1");
	// "" is Docker Hub.
	DefaultRegistry string
	// Mirrors are tried in order before Docker Hub when pulling from it.
	Mirrors []string
	// CACertFiles are extra PEM CA certificates trusted for all registries.
	CACertFiles []string
	// CertsDir holds per-registry certificates as docker reads them
	// (HOST[:PORT]/ca.crt…); "" is /etc/docker/certs.d.
	CertsDir string
}

func (r RegistryOptions) internal() registry.Options {
	return registry.Options{
		Insecure:        r.Insecure,
		DefaultRegistry: r.DefaultRegistry,
		Mirrors:         r.Mirrors,
		CACertFiles:     r.CACertFiles,
		CertsDir:        r.CertsDir,
	}
}

// checkPushOutput rejects a push output that names no destination.
func checkPushOutput(o Output) error {
	if (o.Attrs["push"] == "true" || o.Type == "registry") && o.Attrs["name"] == "" {
		return &UsageError{"--output", "type=" + o.Type, "pushing needs name=REGISTRY/REPO[:TAG]"}
	}
	return nil
}

// pushTargets lists where a build pushes: every tag with --push, and the
// name of every output with push=true or type=registry, once each.
func pushTargets(opts Options) []string {
	var out []string
	seen := map[string]bool{}
	add := func(ref string) {
		if !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	if opts.Push {
		for _, t := range opts.Tags {
			add(t)
		}
	}
	for _, o := range opts.Outputs {
		if o.Attrs["push"] == "true" || o.Type == "registry" {
			add(o.Attrs["name"])
		}
	}
	return out
}

// pushOutputs pushes img to every push target; the first failure stops the
// build with an error (and so a non-zero exit), since a half-published
// release is worse than a failed one.
func pushOutputs(ctx context.Context, img v1.Image, opts Options, events progress.Sink) error {
	if events == nil {
		events = progress.Discard
	}
	for _, dest := range pushTargets(opts) {
		start := time.Now()
		events.Emit(progress.Event{Time: start, Kind: progress.Push, Text: dest, Line: "pushing " + dest})
		updates, done := pushProgress(dest, events)
		d, err := registry.Push(ctx, img, dest, opts.Registry.internal(), registry.PushOptions{Progress: updates})
		<-done
		if err != nil {
			return err
		}
		events.Emit(progress.Event{Time: time.Now(), Kind: progress.Push, Text: dest, Line: fmt.Sprintf("pushed %s@%s", dest, d), Duration: time.Since(start)})
	}
	return nil
}

// PushOptions describe `zbuild push`: an image from the local store sent
// to a registry.
type PushOptions struct {
	// Root is the store's data root; "" is the default.
	Root string
	// Image is a name or ID in the local store; an image index is pushed
	// with all its images.
	Image string
	// Dest is the destination reference; "" pushes to Image's own name.
	Dest string
	// MountFrom is a repository on the destination registry that may hold
	// the layers already (the base image's), to mount instead of upload.
	MountFrom string
	// Registry says how to reach registries.
	Registry RegistryOptions
}

// PushResult is a finished push.
type PushResult struct {
	// Dest is the reference pushed to.
	Dest string
	// Digest is the manifest (or index) digest the registry serves.
	Digest string
}

// Push sends a stored image (or index) to a registry.
func Push(ctx context.Context, opts PushOptions) (*PushResult, error) {
	root := opts.Root
	if root == "" {
		root = store.DefaultRoot()
	}
	st, err := store.Open(root)
	if err != nil {
		return nil, err
	}
	lock, err := st.Shared(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	desc, err := st.Descriptor(ctx, opts.Image)
	if err != nil {
		return nil, err
	}
	dest := opts.Dest
	if dest == "" {
		// Only a name pushes to itself, as the user wrote it, so that
		// --default-registry applies to short names.
		if _, err := v1.NewHash(opts.Image); err == nil || !foundByName(opts.Image, desc) {
			return nil, &UsageError{"push", opts.Image, "an image ID or digest needs a destination: zbuild push IMAGE REGISTRY/REPO[:TAG]"}
		}
		dest = opts.Image
	}
	ropts := opts.Registry.internal()
	popts := registry.PushOptions{MountFrom: opts.MountFrom}
	var d v1.Hash
	if desc.MediaType.IsIndex() {
		idx, _, err := st.Index(ctx, desc.Digest.String())
		if err != nil {
			return nil, err
		}
		d, err = registry.PushIndex(ctx, idx, dest, ropts, popts)
		if err != nil {
			return nil, err
		}
	} else {
		img, _, err := st.Image(ctx, desc.Digest.String())
		if err != nil {
			return nil, err
		}
		if d, err = registry.Push(ctx, img, dest, ropts, popts); err != nil {
			return nil, err
		}
	}
	return &PushResult{Dest: dest, Digest: d.String()}, nil
}

// foundByName reports whether image names desc by a tag (rather than
// being a short image ID or a digest), so that "zbuild push 3f2a" does not
// push to docker.io/library/3f2a.
func foundByName(image string, desc v1.Descriptor) bool {
	n, err := store.NormalizeTag(image)
	return err == nil && desc.Annotations[store.AnnotationRefName] == n
}

// Login checks user and password against registry and stores them as
// `docker login` does; it returns where they went (a file or a credential
// helper). A refusal names the registry and is never shown with the
// password.
func Login(ctx context.Context, registryHost, user, password string, ropts RegistryOptions) (string, error) {
	return registry.Login(ctx, registryHost, user, password, ropts.internal())
}

// Logout removes registry's stored credentials; it reports whether there
// were any and where they were.
func Logout(registryHost string) (bool, string, error) {
	return registry.Logout(registryHost)
}

// pushProgress turns go-containerregistry's upload updates into Push
// events, at most one per 250 ms (and the last one). The registry client
// closes the channel when the push ends; done is closed once every update
// has been forwarded.
func pushProgress(dest string, events progress.Sink) (chan<- v1.Update, <-chan struct{}) {
	updates := make(chan v1.Update, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var last time.Time
		for u := range updates {
			if u.Error != nil || u.Total <= 0 {
				continue
			}
			if now := time.Now(); now.Sub(last) >= 250*time.Millisecond || u.Complete >= u.Total {
				last = now
				events.Emit(progress.Event{Time: now, Kind: progress.Push, Text: dest, Line: "pushing " + dest, Current: u.Complete, Total: u.Total})
			}
		}
	}()
	return updates, done
}
