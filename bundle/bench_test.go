package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"
	"github.com/google/go-cmp/cmp"
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

// BenchmarkOutputExports measures reading the exports from the code, which
// Build does instead of asking esbuild for a metafile, on the same builds
// as BenchmarkMetafileExports.
func BenchmarkOutputExports(b *testing.B) {
	for name, code := range outputs(b) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := outputExports(code); !ok {
					b.Fatal("no export statement")
				}
			}
		})
	}
}

// outputs returns the code of the builds that metafiles describes.
func outputs(tb testing.TB) map[string][]byte {
	tb.Helper()
	dir := tb.TempDir()
	entry, err := genapp.Write(dir, 300)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for name, o := range map[string]Options{
		"example":     {Dir: exampleDir(tb), Entry: exampleEntry},
		"modules=300": {Dir: dir, Entry: entry},
	} {
		res := api.Build(options(o))
		if len(res.Errors) > 0 {
			tb.Fatal(res.Errors)
		}
		out[name] = res.OutputFiles[0].Contents
	}
	return out
}

// metafiles returns esbuild's metafiles for the example (pretty-printed) and
// for a 300-module app (esbuild minifies the metafile past 256 files).
func metafiles(tb testing.TB) map[string]string {
	tb.Helper()
	dir := tb.TempDir()
	entry, err := genapp.Write(dir, 300)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for name, o := range map[string]Options{
		"example":     {Dir: exampleDir(tb), Entry: exampleEntry},
		"modules=300": {Dir: dir, Entry: entry},
	} {
		opts := options(o)
		opts.Metafile = true
		res := api.Build(opts)
		if len(res.Errors) > 0 {
			tb.Fatal(res.Errors)
		}
		out[name] = res.Metafile
	}
	return out
}

// fullMetafileExports decodes the whole metafile, as metafileExports did
// before it learned to skip the inputs.
func fullMetafileExports(metafile string) ([]string, error) {
	var meta struct {
		Outputs map[string]struct {
			Exports []string `json:"exports"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(metafile), &meta); err != nil {
		return nil, err
	}
	return slices.Sorted(slices.Values(meta.Outputs[outfile].Exports)), nil
}

// TestMetafileExportsSkipsInputs checks that skipping the inputs finds what
// decoding the whole metafile finds, on real metafiles of both formats and on
// input names made to confuse a scanner.
func TestMetafileExportsSkipsInputs(t *testing.T) {
	t.Parallel()
	cases := metafiles(t)
	cases["tricky names"] = `{"inputs":{"a\\\"}]{[,\"outputs\":{.ts":{"bytes":1},"outputs":{"bytes":2,"imports":[]}},` +
		`"outputs":{"bundle.js":{"exports":["upgradeState","default"],"inputs":{"outputs":{"bytesInOutput":3}}}}}`
	cases["no inputs"] = `{"outputs":{"bundle.js":{"exports":["b","a"]}}}`
	cases["outputs first"] = `{"outputs":{"bundle.js":{"exports":["c"]}},"inputs":{}}`
	for name, metafile := range cases {
		want, err := fullMetafileExports(metafile)
		if err != nil || len(want) == 0 {
			t.Fatalf("%s: %v %v", name, want, err)
		}
		// The skipped form itself, not only metafileExports (which would
		// hide a wrong skip by decoding the whole metafile again).
		skipped := withoutInputs(metafile)
		if hasInputs := name != "no inputs" && name != "outputs first"; hasInputs == (skipped == metafile) {
			t.Errorf("%s: inputs skipped = %v, want %v", name, !hasInputs, hasInputs)
		}
		fromSkipped, err := fullMetafileExports(skipped)
		if err != nil {
			t.Errorf("%s: the metafile without inputs is not JSON: %v\n%s", name, err, skipped)
		}
		got, err := metafileExports(metafile)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, g := range [][]string{fromSkipped, got} {
			if diff := cmp.Diff(want, g); diff != "" {
				t.Errorf("%s: exports (-full decode +skipping inputs):\n%s", name, diff)
			}
		}
	}
}

// BenchmarkMetafileExports compares reading the exports with the inputs
// skipped against decoding the whole metafile.
func BenchmarkMetafileExports(b *testing.B) {
	for name, metafile := range metafiles(b) {
		for _, read := range []struct {
			how string
			f   func(string) ([]string, error)
		}{{"skip-inputs", metafileExports}, {"decode-all", fullMetafileExports}} {
			b.Run(name+"/"+read.how, func(b *testing.B) {
				b.SetBytes(int64(len(metafile)))
				for b.Loop() {
					if _, err := read.f(metafile); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

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
			res, err := confinedBuild(context.Background(), o, false, func(*api.BuildOptions) {})
			if err != nil || len(res.Errors) > 0 {
				b.Fatal(err, res.Errors)
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
