package bundle

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBuildExports checks the exports Build reads from esbuild's metafile
// against what the bundle's code exports: the names of every kind of export
// statement, none for an entry point that exports nothing, and not the
// name that two "export *" both give, which esbuild leaves out of the code
// though its metafile lists it. esbuild's message about that one is not a
// warning of the bundle.
func TestBuildExports(t *testing.T) {
	t.Parallel()
	lib := map[string]string{
		"b.ts":   `export const upgradeState = 1; export const onlyB = 2;`,
		"c.ts":   `export const upgradeState = 3; export const onlyC = 4;`,
		"mid.ts": `export * from "./b"; export * from "./c";`,
		"lib.ts": `export const x = 1; export function café() {}`,
	}
	tests := []struct {
		name, src string
		want      []string
		notInCode string // a name the code must not export
	}{
		{"declarations", `export function upgradeState() {} export async function* upgradeContext() {} export let l, m = 2;`,
			[]string{"l", "m", "upgradeContext", "upgradeState"}, ""},
		{"re-exports and string names", `export * from "xstate"; export { createMachine as make } from "xstate"; export * as ns from "./lib";` +
			` export { x as "a b" } from "./lib"; const a = 1; export { a as "export{b};", a as "\u{10FFFF}" }; export default class {}`,
			[]string{"a b", "default", "export{b};", "make", "ns", "\U0010FFFF"}, ""},
		{"nothing", `globalThis.o = { a: 1 };`, []string{}, ""},
		{"ambiguous in the entry point", `export * from "./b"; export * from "./c";`, []string{"onlyB", "onlyC"}, "upgradeState"},
		{"ambiguous in a module it re-exports", `export * from "./mid"; export const upgradeContext = 5;`,
			[]string{"onlyB", "onlyC", "upgradeContext"}, "upgradeState"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"entry.ts": tt.src}
			for name, src := range lib {
				files[name] = src
			}
			b, err := Build(context.Background(), Options{Dir: writeApp(t, files), Entry: "entry.ts"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.Exports); diff != "" {
				t.Errorf("exports (-want +got):\n%s", diff)
			}
			if tt.notInCode != "" && strings.Contains(string(b.Code), tt.notInCode) {
				t.Errorf("the code has %s, so this test does not test an export esbuild leaves out:\n%s", tt.notInCode, b.Code)
			}
			if len(b.Warnings) > 0 {
				t.Errorf("warnings: %+v", b.Warnings)
			}
		})
	}
	t.Run("what is missing", func(t *testing.T) {
		t.Parallel()
		dir := writeApp(t, map[string]string{"entry.ts": `export * from "./b"; export * from "./c";`, "b.ts": lib["b.ts"], "c.ts": lib["c.ts"]})
		_, err := Build(context.Background(), Options{Dir: dir, Entry: "entry.ts", Kind: Migration})
		var ee *ExportsError
		if !errors.As(err, &ee) {
			t.Fatalf("err = %v, want an *ExportsError", err)
		}
		want := &ExportsError{Entry: "entry.ts", Missing: []string{"upgradeState", "upgradeContext"}, Have: []string{"onlyB", "onlyC"}}
		if diff := cmp.Diff(want, ee); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if got := err.Error(); !strings.Contains(got, "entry.ts does not export upgradeState and upgradeContext (it exports onlyB, onlyC)") {
			t.Errorf("err = %q", got)
		}
	})
}
