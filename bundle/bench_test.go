package bundle

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"

	"sbdeploy/testdata/genapp"
)

// appSizes are the synthetic app sizes BenchmarkBuild measures; bench/plot.sh
// plots time per build against them.
var appSizes = []int{1, 50, 100, 250, 500, 1000, 2000}

// exampleDir is the small migration that "sbdeploy demo" deploys.
func exampleDir(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "example"))
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

const exampleEntry = "migrations/toggle-v1-to-v2.ts"

// BenchmarkBuild measures Build, esbuild and gzip included: "example" is a
// small real migration, and "modules=N" a synthetic app of N modules
// (testdata/genapp).
func BenchmarkBuild(b *testing.B) {
	b.Run("example", func(b *testing.B) {
		benchBuild(b, exampleDir(b), exampleEntry)
	})
	for _, n := range appSizes {
		b.Run(fmt.Sprintf("modules=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			entry, err := genapp.Write(dir, n)
			if err != nil {
				b.Fatal(err)
			}
			benchBuild(b, dir, entry)
		})
	}
}

func benchBuild(b *testing.B, dir, entry string) {
	b.ReportAllocs()
	var size int
	for b.Loop() {
		out, err := Build(Options{Dir: dir, Entry: entry, Exports: MigrationExports})
		if err != nil {
			b.Fatal(err)
		}
		size = len(out.Code)
	}
	b.ReportMetric(float64(size), "bundle-bytes")
}

// BenchmarkGzip measures Gzip, as Build calls it, on the example's bundle and
// on the bundle of a 2,000-module app.
func BenchmarkGzip(b *testing.B) {
	for _, c := range benchBundles(b) {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.code)))
			b.ReportAllocs()
			var size int
			for b.Loop() {
				gz, err := Gzip(c.code)
				if err != nil {
					b.Fatal(err)
				}
				size = len(gz)
			}
			b.ReportMetric(float64(size), "gz-bytes")
		})
	}
}

// BenchmarkGzipLevel measures every level on the same two bundles;
// GzipLevel's comment gives the figures behind the choice.
func BenchmarkGzipLevel(b *testing.B) {
	for _, c := range benchBundles(b) {
		for _, level := range []int{gzip.StatelessCompression, 1, 2, 3, 4, 5, 6, 7, 8, 9} {
			b.Run(fmt.Sprintf("%s/level=%d", c.name, level), func(b *testing.B) {
				b.SetBytes(int64(len(c.code)))
				b.ReportAllocs()
				var size int
				for b.Loop() {
					gz, err := gzipLevel(c.code, level)
					if err != nil {
						b.Fatal(err)
					}
					size = len(gz)
				}
				b.ReportMetric(float64(size), "gz-bytes")
			})
		}
	}
}

type benchBundle struct {
	name string
	code []byte
}

func benchBundles(b *testing.B) []benchBundle {
	b.Helper()
	small, err := Build(Options{Dir: exampleDir(b), Entry: exampleEntry, Exports: MigrationExports})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	entry, err := genapp.Write(dir, 2000)
	if err != nil {
		b.Fatal(err)
	}
	large, err := Build(Options{Dir: dir, Entry: entry, Exports: MigrationExports})
	if err != nil {
		b.Fatal(err)
	}
	return []benchBundle{{"example", small.Code}, {"modules=2000", large.Code}}
}
