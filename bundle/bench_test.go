package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// writeApp writes a synthetic TypeScript app of n modules under dir and
// returns its entry point. Each module has an enum, a class, a few functions
// and string literals, and imports two earlier modules, so the bundle has the
// variety of identifiers and text that real code has.
func writeApp(tb testing.TB, dir string, n int) string {
	tb.Helper()
	words := []string{"order", "payment", "shipment", "invoice", "customer", "refund", "cart", "ticket"}
	for i := range n {
		var b strings.Builder
		if i > 0 {
			fmt.Fprintf(&b, "import { step%d } from \"./m%d\";\n", i-1, i-1)
			fmt.Fprintf(&b, "import { step%d as prev%d } from \"./m%d\";\n", i/2, i/2, i/2)
		}
		w := words[i%len(words)]
		fmt.Fprintf(&b, "export enum Phase%d { Draft = \"%s-draft-%d\", Open = \"%s-open\", Closed = \"%s-closed-%d\" }\n", i, w, i, w, w, i)
		fmt.Fprintf(&b, "export class %sStore%d {\n  private items = new Map<string, { id: string; total: number; note: string }>();\n", strings.ToUpper(w[:1])+w[1:], i)
		fmt.Fprintf(&b, "  add(id: string, total: number) {\n    if (total < %d) throw new Error(\"%s %%s below minimum of %d\".replace(\"%%s\", id));\n", i%97, w, i%97)
		fmt.Fprintf(&b, "    this.items.set(id, { id, total, note: `%s ${id} added at step %d` });\n    return this.items.size;\n  }\n}\n", w, i)
		fmt.Fprintf(&b, "export function step%d(state: string, n: number): string {\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "  const prior = n > %d ? step%d(state, n - 1) : prev%d(state, 0);\n", i%7, i-1, i/2)
		} else {
			b.WriteString("  const prior = state;\n")
		}
		fmt.Fprintf(&b, "  return n %% 3 === 0 ? Phase%d.Open : prior === Phase%d.Draft ? \"%s-%d\" : prior;\n}\n", i, i, w, i*31%1000)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%d.ts", i)), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	entry := fmt.Sprintf("import { step%d } from \"./m%d\";\nexport const upgradeState = (s: string) => step%d(s, 3);\nexport const upgradeContext = (c: object) => c;\n", n-1, n-1, n-1)
	if err := os.WriteFile(filepath.Join(dir, "entry.ts"), []byte(entry), 0o644); err != nil {
		tb.Fatal(err)
	}
	return "entry.ts"
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1, 50, 500, 2000} {
		b.Run(fmt.Sprintf("modules=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			entry := writeApp(b, dir, n)
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
		})
	}
}

// BenchmarkGzip measures every level on the bundle of a 2,000-module app;
// GzipLevel's comment gives the figures behind the choice.
func BenchmarkGzip(b *testing.B) {
	dir := b.TempDir()
	out, err := Build(Options{Dir: dir, Entry: writeApp(b, dir, 2000), Exports: MigrationExports})
	if err != nil {
		b.Fatal(err)
	}
	for level := gzip.BestSpeed; level <= gzip.BestCompression; level++ {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			b.SetBytes(int64(len(out.Code)))
			var size int
			for b.Loop() {
				gz, err := gzipLevel(out.Code, level)
				if err != nil {
					b.Fatal(err)
				}
				size = len(gz)
			}
			b.ReportMetric(float64(size), "gz-bytes")
		})
	}
}
