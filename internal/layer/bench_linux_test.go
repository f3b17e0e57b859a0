//go:build linux

package layer

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkWrite reports layer throughput (MB/s of file data) for one
// large incompressible file and for many small files, per compression.
func BenchmarkWrite(b *testing.B) {
	big := b.TempDir()
	f, err := os.Create(filepath.Join(big, "random.bin"))
	must(b, err)
	const bigSize = 200 << 20
	_, err = io.CopyN(f, rand.Reader, bigSize)
	must(b, err)
	must(b, f.Close())

	small := b.TempDir()
	const files, fileSize = 20000, 1024
	content := make([]byte, fileSize)
	for i := range files {
		dir := filepath.Join(small, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			must(b, os.Mkdir(dir, 0o755))
		}
		// Text-like, compressible content, as source trees are.
		for j := range content {
			content[j] = byte('a' + (i+j)%26)
		}
		must(b, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.txt", i)), content, 0o644))
	}

	for _, input := range []struct {
		name  string
		dir   string
		bytes int64
	}{
		{"200MiB-incompressible", big, bigSize},
		{"20k-small-files", small, files * fileSize},
	} {
		for _, c := range []Compression{Gzip, Zstd, None} {
			b.Run(input.name+"/"+string(c), func(b *testing.B) {
				b.SetBytes(input.bytes)
				for b.Loop() {
					if _, err := Write(context.Background(), input.dir, io.Discard, Options{Compression: c}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
