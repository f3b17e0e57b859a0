package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// putRecordedLayer stores a random layer blob and a cache record for it.
func putRecordedLayer(t *testing.T, s *Store, key string, used time.Time) v1.Hash {
	t.Helper()
	l, err := random.Layer(64<<10, "application/vnd.oci.image.layer.v1.tar+gzip")
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := l.Compressed()
	defer rc.Close()
	d, _ := l.Digest()
	diff, _ := l.DiffID()
	if _, _, err := s.WriteBlob(context.Background(), rc, d); err != nil {
		t.Fatal(err)
	}
	size, _ := l.Size()
	if err := s.PutCacheRecord(context.Background(), key, CacheRecord{Layer: &CachedLayer{Digest: d, DiffID: diff, Size: size, MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"}}); err != nil {
		t.Fatal(err)
	}
	p, _ := s.recordPath(key)
	os.Chtimes(p, used, used)
	return d
}

func TestPruneCacheByAgeAndSize(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	old := putRecordedLayer(t, s, "sha256:"+repeat("a"), time.Now().Add(-48*time.Hour))
	recent := putRecordedLayer(t, s, "sha256:"+repeat("b"), time.Now())
	// GC keeps what records refer to.
	if _, err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.HasBlob(old) || !s.HasBlob(recent) {
		t.Fatal("GC removed blobs that cache records use")
	}
	if _, ok, _ := s.CacheRecord("sha256:" + repeat("a")); !ok {
		t.Fatal("record not found")
	}
	// CacheRecord refreshed "a"'s last use; age it again.
	p, _ := s.recordPath("sha256:" + repeat("a"))
	os.Chtimes(p, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour))
	res, err := s.Prune(ctx, PruneOptions{Until: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 1 || s.HasBlob(old) || !s.HasBlob(recent) {
		t.Fatalf("prune until=24h: %+v; old blob kept=%v recent kept=%v", res, s.HasBlob(old), s.HasBlob(recent))
	}
	u, err := s.DiskUsage(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.CacheRecords != 1 || u.CacheOnly <= 0 || u.Total < u.CacheOnly {
		t.Fatalf("usage: %+v", u)
	}
	// A size cap removes what is needed, least recently used first.
	res, err = s.Prune(ctx, PruneOptions{KeepStorage: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 1 || !res.Exceeded || s.HasBlob(recent) {
		t.Fatalf("prune keep-storage: %+v", res)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Root(), dirCache, "records")); len(entries) != 0 {
		t.Fatalf("records left: %d", len(entries))
	}
}

func repeat(s string) string {
	out := ""
	for len(out) < 64 {
		out += s
	}
	return out[:64]
}
