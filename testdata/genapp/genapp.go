// Package genapp writes a synthetic TypeScript app of n modules, so that the
// cost of bundling can be measured, and plotted, against the size of a
// project. The bundle benchmarks use it, and so does bench/compare.sh
// (through ./testdata/genapp/cmd) to give the native esbuild CLI the same
// input.
//
// Each module has an enum, a class, a few functions and string literals, and
// imports two earlier modules, so the bundle has the variety of identifiers
// and text that real code has, and every module is reachable from the entry.
// The output depends only on n.
package genapp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Entry is the entry point Write creates: a migration exporting upgradeState
// and upgradeContext.
const Entry = "entry.ts"

var words = []string{"order", "payment", "shipment", "invoice", "customer", "refund", "cart", "ticket"}

// Write writes the modules m0.ts ... m<n-1>.ts and Entry into dir, which must
// exist, and returns Entry.
func Write(dir string, n int) (string, error) {
	if n < 1 {
		return "", fmt.Errorf("genapp: n is %d, want at least 1", n)
	}
	for i := range n {
		name := filepath.Join(dir, fmt.Sprintf("m%d.ts", i))
		if err := os.WriteFile(name, []byte(module(i)), 0o644); err != nil {
			return "", err
		}
	}
	entry := fmt.Sprintf("import { step%d } from \"./m%d\";\nexport const upgradeState = (s: string) => step%d(s, 3);\nexport const upgradeContext = (c: object) => c;\n", n-1, n-1, n-1)
	if err := os.WriteFile(filepath.Join(dir, Entry), []byte(entry), 0o644); err != nil {
		return "", err
	}
	return Entry, nil
}

// module returns the source of module i.
func module(i int) string {
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
	return b.String()
}
