// Command mkbase writes the busybox test image (built from the host's
// /bin/busybox, deterministic) without any network access: into an OCI
// layout directory, into a zbuild store, or to a registry.
//
//	mkbase -oci DIR [-tag busybox:latest]
//	mkbase -store ROOT [-tag busybox:latest]
//	mkbase -push 127.0.0.1:5000/busybox:latest [-insecure]
//	mkbase -rootfs /var/tmp/debian -push 127.0.0.1:5000/debian:bookworm
//
// With -rootfs, the image is one layer made of that directory tree (for
// example a debootstrap of Debian) instead of busybox.
//
// It prints the image's manifest digest.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/zbuild/zbuild/internal/layer"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/internal/testenv/busybox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkbase:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("mkbase", flag.ContinueOnError)
	ociDir := fs.String("oci", "", "write the image into this OCI layout directory (created if missing)")
	storeRoot := fs.String("store", "", "write the image into the zbuild store at this root")
	push := fs.String("push", "", "push the image to this registry reference")
	insecure := fs.Bool("insecure", false, "with -push: use plain HTTP (loopback hosts always do)")
	tag := fs.String("tag", "busybox:latest", "with -oci or -store: the tag to record")
	rootfs := fs.String("rootfs", "", "make the image from this root file system directory instead of busybox")
	if err := fs.Parse(args); err != nil {
		return err
	}
	n := 0
	for _, s := range []string{*ociDir, *storeRoot, *push} {
		if s != "" {
			n++
		}
	}
	if n != 1 || fs.NArg() != 0 {
		return fmt.Errorf("give exactly one of -oci DIR, -store ROOT or -push REF")
	}
	img, err := busybox.Image()
	if *rootfs != "" {
		tmp, terr := os.MkdirTemp("", "mkbase")
		if terr != nil {
			return terr
		}
		defer os.RemoveAll(tmp)
		img, err = rootfsImage(ctx, *rootfs, tmp)
	}
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("computing digest: %w", err)
	}
	switch {
	case *ociDir != "":
		err = writeLayout(*ociDir, img, *tag)
	case *storeRoot != "":
		err = writeStore(ctx, *storeRoot, img, *tag)
	default:
		err = pushTo(ctx, *push, img, *insecure)
	}
	if err != nil {
		return err
	}
	fmt.Println(digest)
	return nil
}

func writeLayout(dir string, img v1.Image, tag string) error {
	ref, err := store.NormalizeTag(tag)
	if err != nil {
		return err
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("creating layout %s: %w", dir, err)
		}
	}
	// Replace any image already recorded under the same tag.
	err = p.ReplaceImage(img, func(d v1.Descriptor) bool {
		return d.Annotations[store.AnnotationRefName] == ref
	}, layout.WithAnnotations(map[string]string{store.AnnotationRefName: ref}))
	if err != nil {
		return fmt.Errorf("writing image to %s: %w", dir, err)
	}
	return nil
}

func writeStore(ctx context.Context, root string, img v1.Image, tag string) error {
	s, err := store.Open(root)
	if err != nil {
		return err
	}
	if _, err := s.PutImage(ctx, img, tag); err != nil {
		return fmt.Errorf("writing image to store %s: %w", root, err)
	}
	return nil
}

func pushTo(ctx context.Context, ref string, img v1.Image, insecure bool) error {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return fmt.Errorf("parsing %q: %w", ref, err)
	}
	if err := remote.Write(r, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("pushing to %s: %w", r, err)
	}
	return nil
}

// rootfsImage makes a one-layer linux image of dir, with a fixed creation
// time so the same tree gives the same digest.
// The layer blob is written under tmp, which must outlive the image.
func rootfsImage(ctx context.Context, dir, tmp string) (v1.Image, error) {
	blob := filepath.Join(tmp, "layer")
	epoch := time.Unix(0, 0)
	desc, err := layer.WriteFile(ctx, dir, blob, layer.Options{SourceDateEpoch: &epoch})
	if err != nil {
		return nil, fmt.Errorf("making a layer of %s: %w", dir, err)
	}
	l, err := layer.ToV1(desc, blob)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cfg.Config.Cmd = []string{"/bin/sh"}
	return mutate.ConfigFile(img, cfg)
}
