package bundle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"
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
		out, err := Build(context.Background(), Options{Dir: dir, Entry: entry, Kind: Migration})
		if err != nil {
			b.Fatal(err)
		}
		size = len(out.Code)
	}
	b.ReportMetric(float64(size), "bundle-bytes")
}

// BenchmarkGzip measures Gzip, as Build calls it, on the example's bundle,
// on the bundle of a 2,000-module app, and on those BENCH_BUNDLES lists.
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

// BenchmarkGzipLevel measures every level on the same bundles, and on the
// files that BENCH_BUNDLES lists (separated as in $PATH), such as the
// realistic apps' bundles; GzipLevel's comment gives the figures behind the
// choice.
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
	small, err := Build(context.Background(), Options{Dir: exampleDir(b), Entry: exampleEntry, Kind: Migration})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	entry, err := genapp.Write(dir, 2000)
	if err != nil {
		b.Fatal(err)
	}
	large, err := Build(context.Background(), Options{Dir: dir, Entry: entry, Kind: Migration})
	if err != nil {
		b.Fatal(err)
	}
	bundles := []benchBundle{{"example", small.Code}, {"modules=2000", large.Code}}
	for _, path := range filepath.SplitList(os.Getenv("BENCH_BUNDLES")) {
		code, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		bundles = append(bundles, benchBundle{filepath.Base(path), code})
	}
	return bundles
}

// withMetafile asks esbuild for the metafile, which tests compare with.
func withMetafile(opts *api.BuildOptions) { opts.Metafile = true }

// BenchmarkConfinement measures what the workspace rule costs: Build's
// esbuild run with the confining plugin against the same build without it,
// on the app BENCH_APP names as directory:entry, in the workspace
// BENCH_ROOT (bench/apps/ledger and compare.sh's scratch directory, say,
// once compare.sh has installed its packages), or on the 500-module
// synthetic app.
func BenchmarkConfinement(b *testing.B) {
	dir, entry := b.TempDir(), ""
	if app := os.Getenv("BENCH_APP"); app != "" {
		var ok bool
		if dir, entry, ok = strings.Cut(app, ":"); !ok {
			b.Fatal("BENCH_APP must be directory:entry")
		}
	} else {
		var err error
		if entry, err = genapp.Write(dir, 500); err != nil {
			b.Fatal(err)
		}
	}
	o := Options{Dir: dir, Root: os.Getenv("BENCH_ROOT"), Entry: entry, Kind: Migration}
	b.Run("confined", func(b *testing.B) {
		for b.Loop() {
			if _, err := buildOne(context.Background(), o, func(*api.BuildOptions) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("esbuild", func(b *testing.B) {
		for b.Loop() {
			if res := api.Build(options(o)); len(res.Errors) > 0 {
				b.Fatal(res.Errors)
			}
		}
	})
}
