package conformance

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"reflect"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Entry is one path of a flattened root file system, without timestamps.
type Entry struct {
	Type     string `json:"type"`
	Mode     string `json:"mode"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Size     int64  `json:"size,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Link     string `json:"link,omitempty"`
	content  string
	hasBytes bool
}

// Snapshot is what the suite compares of an image: its flattened root file
// system (path → entry) and the parts of its config a Dockerfile sets.
type Snapshot struct {
	Files  map[string]Entry
	Config map[string]string
}

// runtimeFiles are written by the builder's runtime, not by the Dockerfile:
// they are mount points or generated files and are left out.
var runtimeFiles = map[string]bool{
	"/etc/hosts": true, "/etc/resolv.conf": true, "/etc/hostname": true,
	"/run": true, "/proc": true, "/sys": true, "/dev": true,
	// buildah's RUN leaves .containerenv behind (a podman convention).
	"/run/.containerenv": true,
}

// ignoredLabels are stamped by an implementation, not set by the case.
var ignoredLabels = map[string]bool{"io.buildah.version": true}

// contentLimit bounds the file contents kept for FileCheck.Content; larger
// files are compared by hash only.
const contentLimit = 64 << 10

// TakeSnapshot flattens img (whiteouts applied) and reads its config.
func TakeSnapshot(img v1.Image) (*Snapshot, error) {
	s := &Snapshot{Files: map[string]Entry{}, Config: map[string]string{}}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(bufio.NewReader(rc))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the flattened image: %w", err)
		}
		p := path.Clean("/" + h.Name)
		if p == "/" || runtimeFiles[p] {
			continue
		}
		e := Entry{Mode: fmt.Sprintf("%04o", h.Mode&0o7777), UID: h.Uid, GID: h.Gid}
		switch h.Typeflag {
		case tar.TypeReg:
			e.Type = "file"
			hash := sha256.New()
			var keep strings.Builder
			w := io.Writer(hash)
			if h.Size <= contentLimit {
				w = io.MultiWriter(hash, &keep)
			}
			n, err := io.Copy(w, tr)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", p, err)
			}
			e.Size, e.SHA256 = n, hex.EncodeToString(hash.Sum(nil))
			e.content, e.hasBytes = keep.String(), h.Size <= contentLimit
		case tar.TypeDir:
			e.Type = "dir"
		case tar.TypeSymlink:
			e.Type, e.Link = "symlink", h.Linkname
		case tar.TypeLink:
			e.Type, e.Link = "hardlink", path.Clean("/"+h.Linkname)
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			e.Type = fmt.Sprintf("device(%c %d:%d)", h.Typeflag, h.Devmajor, h.Devminor)
		default:
			e.Type = fmt.Sprintf("tar type %q", h.Typeflag)
		}
		s.Files[p] = e
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", err)
	}
	c := cf.Config
	labels := map[string]string{}
	for k, v := range c.Labels {
		if !ignoredLabels[k] {
			labels[k] = v
		}
	}
	fields := map[string]any{
		"Env": c.Env, "Cmd": c.Cmd, "Entrypoint": c.Entrypoint, "WorkingDir": c.WorkingDir,
		"User": c.User, "Labels": labels, "ExposedPorts": keys(c.ExposedPorts),
		"Volumes": keys(c.Volumes), "StopSignal": c.StopSignal, "Healthcheck": c.Healthcheck,
		"OnBuild": c.OnBuild, "Shell": c.Shell,
	}
	for k, v := range fields {
		s.Config["config."+k] = canonical(v)
	}
	return s, nil
}

func keys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// canonical renders v as JSON, with nil and empty collections alike: an
// unset Cmd and an empty one mean the same to a container runtime.
func canonical(v any) string {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || ((rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map || rv.Kind() == reflect.Pointer) && (rv.IsNil() || (rv.Kind() != reflect.Pointer && rv.Len() == 0))) {
		return ""
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(data)
}

// Diff lists the differences between a and b, leaving out the keys in
// ignore (paths, with everything under them, or config.Field names).
func Diff(a, b *Snapshot, ignore []string) []string {
	skip := func(key string) bool { return ignored(key, ignore) }
	var out []string
	for _, k := range unionKeys(a.Config, b.Config) {
		if !skip(k) && a.Config[k] != b.Config[k] {
			out = append(out, fmt.Sprintf("%s: %s ≠ %s", k, orNone(a.Config[k]), orNone(b.Config[k])))
		}
	}
	for _, p := range unionKeys(a.Files, b.Files) {
		if skip(p) {
			continue
		}
		ea, okA := a.Files[p]
		eb, okB := b.Files[p]
		switch {
		case !okA:
			out = append(out, fmt.Sprintf("%s: missing ≠ %s", p, eb))
		case !okB:
			out = append(out, fmt.Sprintf("%s: %s ≠ missing", p, ea))
		case ea.String() != eb.String():
			out = append(out, fmt.Sprintf("%s: %s ≠ %s", p, ea, eb))
		}
	}
	return out
}

// ignored reports whether key is one of ignore or a path under one.
func ignored(key string, ignore []string) bool {
	for _, ig := range ignore {
		if key == ig || strings.HasPrefix(key, strings.TrimSuffix(ig, "/")+"/") {
			return true
		}
	}
	return false
}

func (e Entry) String() string {
	s := fmt.Sprintf("%s %s %d:%d", e.Type, e.Mode, e.UID, e.GID)
	if e.Type == "file" {
		s += fmt.Sprintf(" %dB sha256:%.12s", e.Size, e.SHA256)
	}
	if e.Link != "" {
		s += " → " + e.Link
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Check tests the snapshot against the case's pinned Docker results.
func (s *Snapshot) Check(files map[string]FileCheck) []string {
	var out []string
	for _, p := range sortedKeys(files) {
		want := files[p]
		got, ok := s.Files[p]
		if want.Absent {
			if ok {
				out = append(out, fmt.Sprintf("%s: exists (%s), Docker has no such path", p, got))
			}
			continue
		}
		if !ok {
			out = append(out, fmt.Sprintf("%s: missing", p))
			continue
		}
		bad := func(what, want, got string) {
			out = append(out, fmt.Sprintf("%s: %s is %s, Docker gives %s", p, what, got, want))
		}
		if want.Type != "" && want.Type != got.Type {
			bad("type", want.Type, got.Type)
		}
		if want.Mode != "" && want.Mode != got.Mode {
			bad("mode", want.Mode, got.Mode)
		}
		if want.UID != nil && *want.UID != got.UID {
			bad("uid", fmt.Sprint(*want.UID), fmt.Sprint(got.UID))
		}
		if want.GID != nil && *want.GID != got.GID {
			bad("gid", fmt.Sprint(*want.GID), fmt.Sprint(got.GID))
		}
		if want.Content != nil && (!got.hasBytes || *want.Content != got.content) {
			bad("content", fmt.Sprintf("%q", *want.Content), fmt.Sprintf("%q", got.content))
		}
		if want.Link != nil && *want.Link != got.Link {
			bad("link", *want.Link, got.Link)
		}
	}
	return out
}

// CheckConfig tests the snapshot's config against pinned Docker values.
func (s *Snapshot) CheckConfig(want map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(want) {
		if got := s.Config[k]; got != want[k] {
			out = append(out, fmt.Sprintf("%s is %s, Docker gives %s", k, orNone(got), orNone(want[k])))
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
