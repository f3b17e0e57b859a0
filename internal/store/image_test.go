package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestPutImageReadBack(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		img  func(t testing.TB) v1.Image
		tags []string
	}{
		{name: "docker media types, tagged", img: randomImage, tags: []string{"example.com/app:v1", "example.com/app:latest"}},
		{name: "oci media types", img: func(t testing.TB) v1.Image {
			return imageOf(t, tarLayer(t, dirEntry("etc/"), fileEntry("etc/hello", "hi")))
		}, tags: []string{"hello"}},
		{name: "untagged", img: randomImage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			img := tc.img(t)
			digest, err := s.PutImage(ctx, img, tc.tags...)
			if err != nil {
				t.Fatalf("PutImage: %v", err)
			}
			if want := mustDigest(t, img); digest != want {
				t.Fatalf("digest %s, want %s", digest, want)
			}

			// Another implementation reads the same layout.
			p, err := layout.FromPath(s.LayoutPath())
			if err != nil {
				t.Fatal(err)
			}
			ii, err := p.ImageIndex()
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Index(ii); err != nil {
				t.Fatalf("validate.Index(layout): %v", err)
			}
			im, err := ii.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			wantEntries := max(len(tc.tags), 1)
			if len(im.Manifests) != wantEntries {
				t.Fatalf("index.json has %d entries, want %d", len(im.Manifests), wantEntries)
			}
			fromLayout, err := p.Image(digest)
			if err != nil {
				t.Fatal(err)
			}
			mustValidate(t, fromLayout)

			ref := digest.String()
			if len(tc.tags) > 0 {
				ref = tc.tags[0]
			}
			got, gotDigest, err := s.Image(ctx, ref)
			if err != nil {
				t.Fatalf("Image(%s): %v", ref, err)
			}
			if gotDigest != digest || mustDigest(t, got) != digest {
				t.Fatalf("Image(%s) digest %s", ref, gotDigest)
			}
			mustValidate(t, got)
		})
	}
}

func TestPutIndex(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	amd := platformImage(t, v1.Platform{OS: "linux", Architecture: "amd64"})
	arm := platformImage(t, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	digest, err := s.PutIndex(ctx, idx, "example.com/multi:1")
	if err != nil {
		t.Fatalf("PutIndex: %v", err)
	}
	if digest != mustDigest(t, idx) {
		t.Fatalf("digest %s, want %s", digest, mustDigest(t, idx))
	}
	got, _, err := s.Index(ctx, "example.com/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(got); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	if _, _, err := s.Image(ctx, "example.com/multi:1"); !errors.Is(err, ErrNotImage) {
		t.Fatalf("Image(index) = %v, want ErrNotImage", err)
	}

	tests := []struct {
		platform v1.Platform
		want     v1.Hash
		wantErr  error
	}{
		{platform: v1.Platform{OS: "linux", Architecture: "amd64"}, want: mustDigest(t, amd)},
		{platform: v1.Platform{OS: "linux", Architecture: "arm64"}, want: mustDigest(t, arm)},
		{platform: v1.Platform{OS: "linux", Architecture: "s390x"}, wantErr: ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.platform.String(), func(t *testing.T) {
			img, d, err := s.ImageForPlatform(ctx, "example.com/multi:1", tc.platform)
			if tc.wantErr != nil {
				var pe *PlatformError
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &pe) || len(pe.Available) != 2 {
					t.Fatalf("err = %v, want a PlatformError listing 2 platforms", err)
				}
				return
			}
			if err != nil || d != tc.want {
				t.Fatalf("got %s, %v; want %s", d, err, tc.want)
			}
			mustValidate(t, img)
		})
	}
	// A platform's image can be named by its own digest.
	if _, _, err := s.Image(ctx, mustDigest(t, arm).String()); err != nil {
		t.Fatalf("Image(child digest): %v", err)
	}
}

func TestNormalizeRef(t *testing.T) {
	tests := []struct {
		in, want string
		tagOnly  bool
		wantErr  bool
	}{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{in: "docker.io/busybox", want: "docker.io/library/busybox:latest"},
		{in: "index.docker.io/library/busybox:latest", want: "docker.io/library/busybox:latest"},
		{in: "user/app", want: "docker.io/user/app:latest"},
		{in: "ghcr.io/org/app:v2", want: "ghcr.io/org/app:v2"},
		{in: "127.0.0.1:5000/app", want: "127.0.0.1:5000/app:latest"},
		{in: "localhost/app:dev", want: "localhost/app:dev"},
		{in: "busybox@sha256:" + hashOf("x").Hex, want: "docker.io/library/busybox@sha256:" + hashOf("x").Hex},
		{in: "busybox@sha256:" + hashOf("x").Hex, tagOnly: true, wantErr: true},
		{in: "Bad:Ref:x", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			norm := NormalizeRef
			if tc.tagOnly {
				norm = NormalizeTag
			}
			got, err := norm(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %q, %v; want ErrInvalid", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := randomImage(t)
	d, err := s.PutImage(ctx, img, "busybox:latest", "example.com/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ref string
		wantErr   error
	}{
		{name: "short name", ref: "busybox"},
		{name: "full name", ref: "docker.io/library/busybox:latest"},
		{name: "other tag", ref: "example.com/app:v1"},
		{name: "digest", ref: d.String()},
		{name: "digest reference", ref: "example.com/app@" + d.String()},
		{name: "short id", ref: d.Hex[:12]},
		{name: "short id with algorithm", ref: "sha256:" + d.Hex[:8]},
		{name: "unknown tag", ref: "example.com/app:v2", wantErr: ErrNotFound},
		{name: "unknown digest", ref: hashOf("nope").String(), wantErr: ErrNotFound},
		{name: "too short id", ref: d.Hex[:3], wantErr: ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got, err := s.Image(ctx, tc.ref)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Image(%q) err = %v, want %v", tc.ref, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != d {
				t.Fatalf("Image(%q) = %s, %v; want %s", tc.ref, got, err, d)
			}
		})
	}
}

func TestShortIDAmbiguous(t *testing.T) {
	// Two digests sharing a prefix are too rare to make with real images,
	// so the index is written by hand.
	a := v1.Hash{Algorithm: "sha256", Hex: "abcd" + hashOf("a").Hex[4:]}
	b := v1.Hash{Algorithm: "sha256", Hex: "abcd" + hashOf("b").Hex[4:]}
	idx := &indexFile{IndexManifest: v1.IndexManifest{Manifests: []v1.Descriptor{{Digest: a}, {Digest: b}, {Digest: a}}}}
	if _, err := findShortID(idx, "abcd"); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("findShortID(abcd) = %v, want ErrAmbiguous", err)
	}
	if d, err := findShortID(idx, a.Hex[:10]); err != nil || d.Digest != a {
		t.Fatalf("findShortID(longer) = %v, %v", d.Digest, err)
	}
}

func TestTagUntagRemove(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img1, img2 := randomImage(t), randomImage(t)
	d1, err := s.PutImage(ctx, img1, "app:v1", "app:latest")
	if err != nil {
		t.Fatal(err)
	}
	// Moving app:latest to img2 leaves img1 with app:v1.
	d2, err := s.PutImage(ctx, img2, "app:latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, d1.Hex[:12], "other.io/copy:1"); err != nil {
		t.Fatalf("Tag: %v", err)
	}
	wantTags := func(want map[v1.Hash][]string) {
		t.Helper()
		list, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[v1.Hash][]string{}
		for _, info := range list {
			got[info.Digest] = info.Tags
		}
		if len(got) != len(want) {
			t.Fatalf("List = %v, want %v", got, want)
		}
		for d, tags := range want {
			if !slices.Equal(got[d], tags) {
				t.Fatalf("tags of %s = %v, want %v", d, got[d], tags)
			}
		}
	}
	wantTags(map[v1.Hash][]string{
		d1: {"docker.io/library/app:v1", "other.io/copy:1"},
		d2: {"docker.io/library/app:latest"},
	})

	if err := s.Untag(ctx, "app:v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Untag(ctx, "app:v1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Untag = %v, want ErrNotFound", err)
	}
	rm, err := s.Remove(ctx, "other.io/copy:1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rm.Untagged, []string{"other.io/copy:1"}) || !slices.Equal(rm.Deleted, []v1.Hash{d1}) {
		t.Fatalf("Remove(last tag) = %+v", rm)
	}
	wantTags(map[v1.Hash][]string{d2: {"docker.io/library/app:latest"}})

	// By ID every tag goes.
	if err := s.Tag(ctx, "app", "app:again"); err != nil {
		t.Fatal(err)
	}
	rm, err = s.Remove(ctx, d2.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Untagged) != 2 || !slices.Equal(rm.Deleted, []v1.Hash{d2}) {
		t.Fatalf("Remove(id) = %+v", rm)
	}
	wantTags(map[v1.Hash][]string{})
	if _, err := s.Remove(ctx, "app"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove(gone) = %v, want ErrNotFound", err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := imageOf(t, tarLayer(t, fileEntry("a", "aaaa")))
	d, err := s.PutImage(ctx, img, "one")
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	wantSize := int64(len(raw)) + m.Config.Size + m.Layers[0].Size
	got := list[0]
	if got.Digest != d || got.Size != wantSize || len(got.Platforms) != 1 || got.Platforms[0].Architecture != "amd64" {
		t.Fatalf("List[0] = %+v, want digest %s size %d", got, d, wantSize)
	}
}

// TestConcurrentPut puts the same and different images from many goroutines
// at once; every image must end up whole and every tag present.
func TestConcurrentPut(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	shared := randomImage(t)
	const workers = 8
	own := make([]v1.Image, workers)
	for i := range own {
		own[i] = randomImage(t)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*2)
	for i := range workers {
		wg.Go(func() {
			if _, err := s.PutImage(ctx, shared, "shared:latest"); err != nil {
				errs <- err
			}
			if _, err := s.PutImage(ctx, own[i], fmt.Sprintf("own:%d", i)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("PutImage: %v", err)
	}
	for i, img := range append(own, shared) {
		ref := "shared:latest"
		if i < workers {
			ref = fmt.Sprintf("own:%d", i)
		}
		got, d, err := s.Image(ctx, ref)
		if err != nil || d != mustDigest(t, img) {
			t.Fatalf("Image(%s) = %s, %v", ref, d, err)
		}
		mustValidate(t, got)
	}
	list, _ := s.List(ctx)
	if len(list) != workers+1 {
		t.Fatalf("List has %d images, want %d", len(list), workers+1)
	}
	assertNoPartial(t, s)
}

// platformImage is a random image whose config names platform.
func platformImage(t testing.TB, p v1.Platform) v1.Image {
	t.Helper()
	img := randomImage(t)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
