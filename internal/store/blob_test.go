package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func hashOf(data string) v1.Hash {
	sum := sha256.Sum256([]byte(data))
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// failingReader yields some bytes, then an error: a download cut short.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), f.n)
	for i := range k {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

func TestWriteBlob(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		want    v1.Hash
		wantErr error // nil: success
		anyErr  bool
		stored  v1.Hash
	}{
		{name: "unknown digest", r: bytes.NewReader([]byte("hello")), stored: hashOf("hello")},
		{name: "expected digest", r: bytes.NewReader([]byte("hello")), want: hashOf("hello"), stored: hashOf("hello")},
		{name: "wrong digest", r: bytes.NewReader([]byte("hello")), want: hashOf("other"), wantErr: ErrInvalid},
		{name: "reader fails midway", r: &failingReader{n: 100000}, anyErr: true},
		{name: "cancelled", ctx: cancelled, r: bytes.NewReader([]byte("hello")), anyErr: true},
		{name: "sha512 refused", r: bytes.NewReader(nil), want: v1.Hash{Algorithm: "sha512", Hex: "00"}, wantErr: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			got, _, err := s.WriteBlob(ctx, tc.r, tc.want)
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			case tc.anyErr && err == nil:
				t.Fatalf("err = nil, want an error")
			case tc.wantErr == nil && !tc.anyErr && err != nil:
				t.Fatalf("err = %v", err)
			}
			if err == nil {
				if got != tc.stored || !s.HasBlob(got) {
					t.Fatalf("got %v (stored %v), want %v stored", got, s.HasBlob(got), tc.stored)
				}
			}
			// Whatever happened, no partial blob is visible and no ingest
			// file is left behind.
			assertNoPartial(t, s)
		})
	}
}

// assertNoPartial checks that every file in blobs/ hashes to its name and
// that tmp/ is empty.
func assertNoPartial(t *testing.T, s *Store) {
	t.Helper()
	dir := filepath.Join(s.root, dirOCI, "blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != e.Name() {
			t.Errorf("blob %s does not match its content", e.Name())
		}
	}
	if left, _ := os.ReadDir(filepath.Join(s.root, dirTmp)); len(left) != 0 {
		t.Errorf("tmp/ holds %d leftover entries (first %s)", len(left), left[0].Name())
	}
}

func TestWriteBlobExistingIsNotRead(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	h, _, err := s.WriteBlob(ctx, bytes.NewReader([]byte("hello")), v1.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	// A reader that would fail proves the existing blob short-circuits.
	got, size, err := s.WriteBlob(ctx, &failingReader{}, h)
	if err != nil || got != h || size != 5 {
		t.Fatalf("WriteBlob existing = %v, %d, %v", got, size, err)
	}
	rc, err := s.OpenBlob(h)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "hello" {
		t.Fatalf("blob = %q", b)
	}
	if _, err := s.OpenBlob(hashOf("missing")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("OpenBlob(missing) = %v, want ErrNotFound", err)
	}
}

func TestIngestFile(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for range 2 { // the second time the blob exists already
		dir, err := s.TempDir("layer-")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "blob")
		if err := os.WriteFile(p, []byte("layer data"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.IngestFile(ctx, p, hashOf("layer data")); err != nil {
			t.Fatalf("IngestFile: %v", err)
		}
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("ingested file still at %s", p)
		}
		os.Remove(dir)
	}
	if !s.HasBlob(hashOf("layer data")) {
		t.Fatal("blob missing after IngestFile")
	}
	info, err := os.Stat(s.BlobPath(hashOf("layer data")))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm()&0o222 != 0 {
		t.Errorf("blob mode %v, want read-only", info.Mode())
	}
	assertNoPartial(t, s)
}

func TestOpenRemovesStaleTmp(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	// A crash left an ingest file and an unpack dir an hour and more ago,
	// and a build is using a fresh scratch dir.
	old := time.Now().Add(-2 * staleAfter)
	stale := []string{"ingest-123", "unpack-456"}
	for _, n := range stale {
		p := filepath.Join(root, dirTmp, n)
		if err := os.MkdirAll(filepath.Join(p, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := s.TempDir("build-")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(root); err != nil {
		t.Fatal(err)
	}
	for _, n := range stale {
		if _, err := os.Stat(filepath.Join(root, dirTmp, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale %s survived Open", n)
		}
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp dir removed: %v", err)
	}

	// While another holder has the store lock, Open leaves tmp alone.
	if err := os.Chtimes(fresh, old, old); err != nil {
		t.Fatal(err)
	}
	lock, err := s.Shared(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	if _, err := Open(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("Open cleaned tmp while the store was in use: %v", err)
	}
}
