package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/zbuild/zbuild/internal/copier"
	"github.com/zbuild/zbuild/internal/fetch"
	"github.com/zbuild/zbuild/internal/store"
	"github.com/zbuild/zbuild/plan"
)

// chainKey derives a step's cache key: the parent's key, the step's
// canonical encoding and the digest of everything it reads. Equal keys mean
// equal results, so a hit can reuse the recorded layer without running.
func chainKey(parent string, parts ...string) string {
	h := sha256.New()
	io.WriteString(h, "zbuild-cache-v1\x00"+parent)
	for _, p := range parts {
		io.WriteString(h, "\x00"+p)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// stepInputs is what a step reads besides its own text: a digest of it and,
// for build-context files, the per-file sums (to name what changed).
type stepInputs struct {
	digest string
	files  []copier.FileSum
}

// inputs computes what step reads. Context files are hashed by content and
// metadata through the stat cache; stages by their key; images by digest.
func (b *build) inputs(ctx context.Context, sr *stageResult, step *plan.Step) (stepInputs, error) {
	var parts []string
	var files []copier.FileSum
	fromPart := func(f plan.From) (string, error) {
		switch f.Kind {
		case plan.FromStage:
			return "stage:" + b.results[f.Stage].key, nil
		case plan.FromImage:
			bi, err := b.e.bases.resolve(ctx, f.Ref, sr.platform, b.req.Pull, b.events)
			if err != nil {
				return "", err
			}
			return "image:" + bi.digest.String(), nil
		}
		return "", nil
	}
	contextDigest := func(req copier.Request) error {
		ignore, err := b.ignoreMatcher()
		if err != nil {
			return err
		}
		req.SrcRoot, req.Ignore = b.req.ContextDir, ignore
		d, sums, err := copier.Digest(ctx, req, b.hasher)
		if err != nil {
			return err
		}
		parts = append(parts, "context:"+d)
		files = append(files, sums...)
		return nil
	}
	switch {
	case step.Copy != nil:
		c := step.Copy
		if c.From.IsZero() {
			if err := contextDigest(copier.Request{Sources: c.Sources, Parents: c.Parents, Exclude: c.Exclude}); err != nil {
				return stepInputs{}, err
			}
		} else {
			p, err := fromPart(c.From)
			if err != nil {
				return stepInputs{}, err
			}
			parts = append(parts, p)
		}
	case step.Add != nil:
		a := step.Add
		local, remote := splitRemote(a.Sources)
		if len(local) > 0 {
			if err := contextDigest(copier.Request{Sources: local, Parents: a.Parents, Exclude: a.Exclude}); err != nil {
				return stepInputs{}, err
			}
		}
		for _, src := range remote {
			d, err := b.remoteDigest(ctx, a, src)
			if err != nil {
				return stepInputs{}, err
			}
			parts = append(parts, "remote:"+src+"="+d)
		}
	case step.Run != nil:
		for _, m := range step.Run.Mounts {
			if m.Type != plan.MountBind {
				continue
			}
			if m.From.IsZero() {
				if err := contextDigest(copier.Request{Sources: []string{m.Source}}); err != nil {
					return stepInputs{}, fmt.Errorf("bind mount source %s: %w", m.Source, err)
				}
				continue
			}
			p, err := fromPart(m.From)
			if err != nil {
				return stepInputs{}, err
			}
			parts = append(parts, "mount:"+m.Target+"="+p)
		}
	}
	return stepInputs{digest: strings.Join(parts, "\x00"), files: files}, nil
}

// statHasher digests context files, reading a file only when its size,
// mtime, ctime or inode changed since the digest was taken. ctime covers
// changes that restore size and mtime (content rewritten and `touch -d`'d
// back): a stat-only shortcut never returns a stale digest.
type statHasher struct {
	mu      sync.Mutex
	entries map[string]statEntry
	read    int
	reused  int
	dirty   bool
}

type statEntry struct {
	Size, Mtime, Ctime int64
	Ino                uint64
	Sum                string
}

func (h *statHasher) FileDigest(p string, fi fs.FileInfo) (string, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("stat of %s has no inode data", p)
	}
	cur := statEntry{Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Ctime: st.Ctim.Nano(), Ino: st.Ino}
	h.mu.Lock()
	old, found := h.entries[p]
	h.mu.Unlock()
	if found && old.Size == cur.Size && old.Mtime == cur.Mtime && old.Ctime == cur.Ctime && old.Ino == cur.Ino {
		h.mu.Lock()
		h.reused++
		h.mu.Unlock()
		return old.Sum, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", p, err)
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", p, err)
	}
	cur.Sum = hex.EncodeToString(sum.Sum(nil))
	h.mu.Lock()
	h.entries[p] = cur
	h.read++
	h.dirty = true
	h.mu.Unlock()
	return cur.Sum, nil
}

// statCacheFile names the stat cache of one build context.
func statCacheFile(st *store.Store, contextDir string) string {
	sum := sha256.Sum256([]byte("stat\x00" + contextDir))
	return st.ContextFile(hex.EncodeToString(sum[:]))
}

// The stat cache file has one line per file, "sum size mtime ctime inode
// path", parsed with no reflection: it is read by every build, and for a
// context of 20,000 files JSON decoding alone cost more than the rest of a
// cached build. Paths holding a newline are not cached.
func loadStatHasher(st *store.Store, contextDir string) *statHasher {
	h := &statHasher{entries: map[string]statEntry{}}
	data, err := os.ReadFile(statCacheFile(st, contextDir))
	if err != nil {
		return h
	}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		f := bytes.SplitN(line, []byte(" "), 6)
		if len(f) != 6 {
			continue
		}
		size, err1 := strconv.ParseInt(string(f[1]), 10, 64)
		mtime, err2 := strconv.ParseInt(string(f[2]), 10, 64)
		ctime, err3 := strconv.ParseInt(string(f[3]), 10, 64)
		ino, err4 := strconv.ParseUint(string(f[4]), 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			continue
		}
		h.entries[string(f[5])] = statEntry{Sum: string(f[0]), Size: size, Mtime: mtime, Ctime: ctime, Ino: ino}
	}
	return h
}

func (h *statHasher) save(st *store.Store, contextDir string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	slog.Debug("build context hashed", "files-read", h.read, "files-unchanged", h.reused)
	if !h.dirty {
		return
	}
	var buf bytes.Buffer
	for p, e := range h.entries {
		if strings.ContainsRune(p, '\n') {
			continue
		}
		fmt.Fprintf(&buf, "%s %d %d %d %d %s\n", e.Sum, e.Size, e.Mtime, e.Ctime, e.Ino, p)
	}
	if err := st.WriteFileAtomic(statCacheFile(st, contextDir), buf.Bytes()); err != nil {
		slog.Warn("saving the context stat cache", "err", err)
	}
}

// slotRecord is what a step position saw in the last build, kept to
// explain the next miss at that position.
type slotRecord struct {
	Parent    string    `json:"parent"`
	Step      string    `json:"step"`
	Base      string    `json:"base,omitempty"`
	BuildArgs []plan.KV `json:"buildArgs,omitempty"`
	Inputs    string    `json:"inputs"`
	// Files are the per-file sums behind Inputs. They are stored apart,
	// once per distinct set (FilesRef names it), so a cached build of a
	// large context neither reads nor writes them.
	Files    []copier.FileSum `json:"-"`
	FilesRef string           `json:"filesRef,omitempty"`
}

// explainer remembers, per Dockerfile and step position, the inputs of the
// last build, and says why a step missed the cache.
type explainer struct {
	path string
	dir  string
	mu   sync.Mutex
	raw  []byte // the file as loaded, to skip rewriting it unchanged
	last map[string]slotRecord
	next map[string]slotRecord
}

func loadExplainer(st *store.Store, slot string) *explainer {
	sum := sha256.Sum256([]byte("explain\x00" + slot))
	path := st.ContextFile(hex.EncodeToString(sum[:]))
	e := &explainer{path: path, dir: filepath.Dir(path), last: map[string]slotRecord{}, next: map[string]slotRecord{}}
	if data, err := os.ReadFile(e.path); err == nil {
		e.raw = data
		if json.Unmarshal(data, &e.last) != nil {
			e.last = map[string]slotRecord{}
		}
	}
	return e
}

// filesPath names the stored file sums of one input set.
func (e *explainer) filesPath(ref string) string { return filepath.Join(e.dir, "files-"+ref+".json") }

// oldFiles returns the file sums a previous build recorded, loading them
// from their side file when they are not in memory.
func (e *explainer) oldFiles(r slotRecord) []copier.FileSum {
	if len(r.Files) > 0 || r.FilesRef == "" {
		return r.Files
	}
	data, err := os.ReadFile(e.filesPath(r.FilesRef))
	if err != nil {
		return nil
	}
	var out []copier.FileSum
	json.Unmarshal(data, &out)
	return out
}

// record keeps what the step at pos saw in this build.
func (e *explainer) record(pos string, r slotRecord) {
	e.mu.Lock()
	e.next[pos] = r
	e.mu.Unlock()
}

// reason explains why the step at pos, now seeing cur, had no cache record.
func (e *explainer) reason(pos string, cur slotRecord) string {
	e.mu.Lock()
	old, ok := e.last[pos]
	e.mu.Unlock()
	switch {
	case !ok:
		return "no cache record"
	case cur.Base != "" && old.Base != cur.Base:
		return fmt.Sprintf("base image digest changed (%s → %s)", short(old.Base), short(cur.Base))
	case old.Parent != cur.Parent:
		return "a previous step changed"
	case old.Step != cur.Step:
		if r := argChange(old.BuildArgs, cur.BuildArgs); r != "" {
			return r
		}
		return "instruction changed"
	case old.Inputs != cur.Inputs:
		if r := fileChange(e.oldFiles(old), cur.Files); r != "" {
			return r
		}
		return inputChange(old.Inputs, cur.Inputs)
	}
	return "no cache record (pruned, or built with --no-cache)"
}

func (e *explainer) save(st *store.Store) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, v := range e.last {
		if _, ok := e.next[k]; !ok {
			e.next[k] = v
		}
	}
	for k, r := range e.next {
		if len(r.Files) == 0 {
			continue
		}
		sum := sha256.Sum256([]byte(r.Inputs))
		r.FilesRef = hex.EncodeToString(sum[:16])
		e.next[k] = r
		if _, err := os.Stat(e.filesPath(r.FilesRef)); err == nil {
			continue
		}
		data, err := json.Marshal(r.Files)
		if err == nil {
			err = st.WriteFileAtomic(e.filesPath(r.FilesRef), data)
		}
		if err != nil {
			slog.Warn("saving cache explanations", "err", err)
		}
	}
	data, err := json.Marshal(e.next)
	if err == nil && bytes.Equal(data, e.raw) {
		return
	}
	if err == nil {
		err = st.WriteFileAtomic(e.path, data)
	}
	if err != nil {
		slog.Warn("saving cache explanations", "err", err)
	}
}

// inputChange names the first non-file input that differs.
func inputChange(old, cur string) string {
	op, cp := strings.Split(old, "\x00"), strings.Split(cur, "\x00")
	for i, p := range cp {
		if i < len(op) && op[i] == p {
			continue
		}
		switch {
		case strings.HasPrefix(p, "stage:"):
			return "the --from stage changed"
		case strings.HasPrefix(p, "image:"):
			return "the --from image digest changed"
		case strings.HasPrefix(p, "remote:"):
			src, _, _ := strings.Cut(strings.TrimPrefix(p, "remote:"), "=")
			return "remote source " + src + " changed"
		case strings.HasPrefix(p, "mount:"):
			target, _, _ := strings.Cut(strings.TrimPrefix(p, "mount:"), "=")
			return "bind mount source of " + target + " changed"
		}
		break
	}
	return "inputs changed"
}

func argChange(old, cur []plan.KV) string {
	om := map[string]string{}
	for _, kv := range old {
		om[kv.Key] = kv.Value
	}
	seen := map[string]bool{}
	for _, kv := range cur {
		seen[kv.Key] = true
		if v, ok := om[kv.Key]; !ok {
			return fmt.Sprintf("ARG %s added (%q)", kv.Key, kv.Value)
		} else if v != kv.Value {
			return fmt.Sprintf("ARG %s changed from %q to %q", kv.Key, v, kv.Value)
		}
	}
	for _, kv := range old {
		if !seen[kv.Key] {
			return fmt.Sprintf("ARG %s removed", kv.Key)
		}
	}
	return ""
}

// fileChange names the first context file that changed, and how many more.
func fileChange(old, cur []copier.FileSum) string {
	om := make(map[string]string, len(old))
	for _, f := range old {
		om[f.Path] = f.Sum
	}
	var changes []string
	seen := make(map[string]bool, len(cur))
	for _, f := range cur {
		seen[f.Path] = true
		switch s, ok := om[f.Path]; {
		case !ok:
			changes = append(changes, "context file "+f.Path+" added")
		case s != f.Sum:
			changes = append(changes, "context file "+f.Path+" changed")
		}
	}
	for _, f := range old {
		if !seen[f.Path] {
			changes = append(changes, "context file "+f.Path+" removed")
		}
	}
	if len(changes) == 0 {
		return ""
	}
	sort.Strings(changes[1:])
	if len(changes) > 1 {
		return fmt.Sprintf("%s (and %d more)", changes[0], len(changes)-1)
	}
	return changes[0]
}

func short(d string) string {
	d = strings.TrimPrefix(d, "image:")
	if i := strings.Index(d, ":"); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

// remoteDigest fetches an ADD URL or git source (once per build) and
// returns what the key should include: the declared checksum when there is
// one (nothing is downloaded), else the digest of what was fetched.
func (b *build) remoteDigest(ctx context.Context, a *plan.Add, src string) (string, error) {
	if a.Checksum != "" && !fetch.IsGit(src) {
		return "checksum:" + a.Checksum, nil
	}
	dir, err := b.prefetch(ctx, a, src)
	if err != nil {
		return "", err
	}
	d, _, err := copier.Digest(ctx, copier.Request{SrcRoot: dir.root, Sources: dir.sources}, readHasher{})
	return d, err
}

// readHasher digests files without a stat cache (fetched remote sources
// live in temp dirs that are never seen again).
type readHasher struct{}

func (readHasher) FileDigest(p string, _ fs.FileInfo) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}
