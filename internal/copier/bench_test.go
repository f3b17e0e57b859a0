//go:build linux

package copier

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// BenchmarkCopy measures the two shapes of case 03: many small files, and
// one large file, into a plain directory and into an overlay merged
// directory (what the engine really writes to), with several worker counts
// for the small files. Set TMPDIR to a tmpfs to take the disk out of it.
func BenchmarkCopy(b *testing.B) {
	shapes := []struct {
		name    string
		workers []int // fileWorkers values to compare
		build   func(b *testing.B, dir string) int64
	}{
		{"20k-small-files", []int{1, 2, 4, 8}, func(b *testing.B, dir string) int64 {
			var total int64
			for i := range 20000 {
				p := filepath.Join(dir, fmt.Sprintf("d%03d", i/100), fmt.Sprintf("f%05d.txt", i))
				if i%100 == 0 {
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						b.Fatal(err)
					}
				}
				data := fmt.Appendf(nil, "file %d\n", i)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					b.Fatal(err)
				}
				total += int64(len(data))
			}
			return total
		}},
		{"one-200MiB-file", []int{4}, func(b *testing.B, dir string) int64 {
			block := make([]byte, 1<<20)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range block {
				block[i] = byte(r.Uint32())
			}
			f, err := os.Create(filepath.Join(dir, "big.bin"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			for range 200 {
				if _, err := f.Write(block); err != nil {
					b.Fatal(err)
				}
			}
			return 200 << 20
		}},
	}
	for _, shape := range shapes {
		src := b.TempDir()
		size := shape.build(b, src)
		for _, target := range []string{"dir", "overlay"} {
			for _, workers := range shape.workers {
				b.Run(fmt.Sprintf("%s/%s/workers=%d", shape.name, target, workers), func(b *testing.B) {
					defer func(n int) { fileWorkers = n }(fileWorkers)
					fileWorkers = workers
					benchCopy(b, src, target, size)
				})
			}
		}
	}
}

func benchCopy(b *testing.B, src, target string, size int64) {
	b.SetBytes(size)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dest, cleanup := benchDest(b, target)
		b.StartTimer()
		if _, err := Copy(context.Background(), Request{SrcRoot: src, DestRoot: dest, Sources: []string{"."}, Dest: "/app/"}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cleanup()
		b.StartTimer()
	}
}

// benchDest returns an empty destination root: a directory, or the merged
// directory of a fresh overlay mount (skipped when that needs root or the
// kernel lacks overlayfs).
func benchDest(b *testing.B, target string) (string, func()) {
	base, err := os.MkdirTemp("", "copier-bench-")
	if err != nil {
		b.Fatal(err)
	}
	if target == "dir" {
		return base, func() { os.RemoveAll(base) }
	}
	dirs := map[string]string{}
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		dirs[d] = filepath.Join(base, d)
		if err := os.Mkdir(dirs[d], 0o755); err != nil {
			b.Fatal(err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", dirs["lower"], dirs["upper"], dirs["work"])
	if err := syscall.Mount("overlay", dirs["merged"], "overlay", 0, opts); err != nil {
		os.RemoveAll(base)
		b.Skipf("overlay mount unavailable (needs root and overlayfs): %v", err)
	}
	return dirs["merged"], func() {
		if err := syscall.Unmount(dirs["merged"], 0); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(base)
	}
}
