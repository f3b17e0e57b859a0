package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushOptions are the knobs of one push beyond how to reach the registry.
type PushOptions struct {
	// MountFrom is a repository on the destination registry ("team/base")
	// that may already hold the image's layers, such as the base image's:
	// the registry is asked to mount each missing blob from it instead of
	// receiving it again, and falls back to an upload when it cannot.
	MountFrom string
	// Progress, when set, receives upload progress; it is closed when the
	// push ends, as go-containerregistry's WithProgress does.
	Progress chan<- v1.Update
}

// Push uploads img to dest ("host/repo:tag" or "host/repo@digest") and
// returns the manifest digest the registry now serves. Blobs the registry
// already has are skipped (a HEAD request each), the others are streamed,
// up to four at a time; transient failures (5xx, 429, refused or cut
// connections) are retried with opts.Retry. A refusal of our credentials
// is an *AuthError; other registry errors keep their *transport.Error.
func Push(ctx context.Context, img v1.Image, dest string, opts Options, popts PushOptions) (v1.Hash, error) {
	r, ropts, err := opts.pushTarget(ctx, dest, popts)
	if err != nil {
		return v1.Hash{}, err
	}
	if popts.MountFrom != "" {
		if img, err = mountable(img, r, popts.MountFrom); err != nil {
			return v1.Hash{}, err
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("computing the image digest: %w", err)
	}
	if err := remote.Write(r, img, ropts...); err != nil {
		return v1.Hash{}, pushError(r, opts, err)
	}
	return digest, nil
}

// PushIndex is Push for an image index and every image it lists.
func PushIndex(ctx context.Context, idx v1.ImageIndex, dest string, opts Options, popts PushOptions) (v1.Hash, error) {
	r, ropts, err := opts.pushTarget(ctx, dest, popts)
	if err != nil {
		return v1.Hash{}, err
	}
	digest, err := idx.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("computing the index digest: %w", err)
	}
	if err := remote.WriteIndex(r, idx, ropts...); err != nil {
		return v1.Hash{}, pushError(r, opts, err)
	}
	return digest, nil
}

// pushTarget parses dest and makes the remote options of a push to it.
func (o Options) pushTarget(ctx context.Context, dest string, popts PushOptions) (name.Reference, []remote.Option, error) {
	r, err := o.parseRef(dest)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing push destination %q: %w", dest, err)
	}
	ropts, err := o.remoteOptions(ctx, r.Context().RegistryStr(), DefaultPlatform())
	if err != nil {
		return nil, nil, err
	}
	if popts.Progress != nil {
		ropts = append(ropts, remote.WithProgress(popts.Progress))
	}
	return r, ropts, nil
}

// mountable wraps img's layers so that remote.Write asks the registry to
// mount them from repo on the destination's registry.
func mountable(img v1.Image, dest name.Reference, repo string) (v1.Image, error) {
	src, err := name.ParseReference(dest.Context().RegistryStr()+"/"+repo, name.WithDefaultTag("latest"))
	if err != nil {
		return nil, fmt.Errorf("parsing mount source %q: %w", repo, err)
	}
	return mountImage{Image: img, from: src}, nil
}

// mountImage is an image whose layers carry a mount source.
type mountImage struct {
	v1.Image
	from name.Reference
}

func (m mountImage) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = &remote.MountableLayer{Layer: l, Reference: m.from}
	}
	return out, nil
}

// LayerByDigest keeps remote.Write's lookups returning mountable layers.
func (m mountImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := m.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &remote.MountableLayer{Layer: l, Reference: m.from}, nil
}

// pushError names the destination and marks auth failures.
func pushError(r name.Reference, o Options, err error) error {
	host := r.Context().RegistryStr()
	return fmt.Errorf("pushing %s (registry %s): %w", r.String(), host, authError(host, o.Keychain, err))
}
