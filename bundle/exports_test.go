package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/evanw/esbuild/pkg/api"
	"github.com/google/go-cmp/cmp"

	"sbdeploy/testdata/genapp"
)

// TestOutputExports reads export statements written as esbuild writes them,
// and refuses code that only looks like one.
func TestOutputExports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code string
		want       []string // nil: not readable, the caller asks the metafile
	}{
		{"migration", "var a=1;export{b as upgradeContext,a as upgradeState};\n", []string{"upgradeContext", "upgradeState"}},
		{"default", "function f(){}export{f as default};\n", []string{"default"}},
		{"default and others, sorted", "export{o as K,f as default,a as allowWrite,b as allowRead};\n", []string{"K", "allowRead", "allowWrite", "default"}},
		{"same name", "var t=1;export{t};\n", []string{"t"}},
		{"reserved words", "export{a as if,b as as,as as c};\n", []string{"as", "c", "if"}},
		{"string names", `export{n as"a b",c as'"q\\',d as"x\"y"};` + "\n", []string{`"q\`, "a b", `x"y`}},
		{"string name holding a clause", `export{a as";export{b as c};"};` + "\n", []string{";export{b as c};"}},
		{"string name holding a clause's end", `export{a as'x"};',b as c};` + "\n", []string{"c", `x"};`}},
		{"escaped identifier", `export{f as caf\u00E9};` + "\n", []string{"café"}},
		{"astral name in braces", `export{u as"\u{1F600}"};` + "\n", []string{"😀"}},
		{"surrogate pair", `export{u as"\uD83D\uDE00"};` + "\n", []string{"😀"}},
		{"escapes", `export{a as"\0\b\f\n\r\t\v\x07\x1B\\\/\$\u2028\uFEFF"};` + "\n", []string{"\x00\b\f\n\r\t\v\x07\x1b\\/$\u2028\ufeff"}},
		{"after an export star", `export*from"npm:xstate";var a=1;export{a as upgradeState};` + "\n", []string{"upgradeState"}},
		{"after a class body", "var a=class{static{t(this,\"A\")}};export{a as A};\n", []string{"A"}},
		{"white space", "export{\n  a as upgradeState,\n  b as \"x\"\n};\n", []string{"upgradeState", "x"}},
		{"empty clause", "export{};\n", []string{}},
		{"empty code", "", []string{}},
		{"CommonJS entry point", "var s=r((x,e)=>{e.exports={a:1}});export default s();\n", []string{"default"}},

		{"no export statement", "var o={a:1};\n", nil},
		{"a call last", "console.log(1);\n", nil},
		{"end of a name", "var a=class extends myexport{b};\n", nil},
		{"inside a string", `var s="export{a};";` + "\n", nil},
		{"inside a template", "var s=`;export{a}`;\n", nil},
		{"not last", "export{a as b};f();\n", nil},
		{"no semicolon", "export{a as b}\n", nil},
		{"no alias after as", "export{a as};\n", nil},
		{"string as local name", `export{"a"as b};` + "\n", nil},
		{"two names without a comma", "export{a b};\n", nil},
		{"digit first", "export{1a};\n", nil},
		{"lone surrogate", `export{a as"\uD800"};` + "\n", nil},
		{"surrogate in an identifier", `export{a as \uD83D\uDE00};` + "\n", nil},
		{"legacy octal", `export{a as"\1"};` + "\n", nil},
		{"line continuation", "export{a as\"x\\\ny\"};\n", nil},
		{"unterminated string", `export{a as"x};` + "\n", nil},
		{"raw non-ASCII", "export{a as café};\n", nil},
		{"bad escape in braces", `export{a as"\u{110000}"};` + "\n", nil},
		{"default of something else", "export default s;\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := outputExports([]byte(tt.code))
			if ok != (tt.want != nil) {
				t.Fatalf("outputExports(%q) = %q, %v; want %q", tt.code, got, ok, tt.want)
			}
			if diff := cmp.Diff(tt.want, got); ok && diff != "" {
				t.Errorf("outputExports(%q) (-want +got):\n%s", tt.code, diff)
			}
		})
	}
}

// TestOutputExportsMatchesMetafile bundles real entry points with the
// upload's options and checks that what outputExports reads from the code
// is what esbuild's metafile lists.
func TestOutputExportsMatchesMetafile(t *testing.T) {
	t.Parallel()
	gen := t.TempDir()
	genEntry, err := genapp.Write(gen, 20)
	if err != nil {
		t.Fatal(err)
	}
	cases := []Options{
		{Dir: exampleDir(t), Entry: exampleEntry},
		{Dir: gen, Entry: genEntry},
		{Dir: testdataDir(t, "kitchen-sink"), Entry: "entry.ts"},
		{Dir: testdataDir(t, "xstate-subpath"), Entry: "entry.js"},
		{Dir: testdataDir(t, "missing-exports"), Entry: "entry.ts"},
	}
	dir := t.TempDir()
	for name, src := range map[string]string{
		"reexports.ts": `export * from "xstate"; export { createMachine as make } from "xstate";` +
			` export * as ns from "./lib"; export { x as "a b" } from "./lib"; export default class {}`,
		"lib.ts":       `export const x = 1; export function café() {}`,
		"cjs.js":       `module.exports = { upgradeState() {} };`,
		"nothing.ts":   `console.log("no exports");`,
		"object.ts":    `globalThis.o = { a: 1 };`,
		"strings.ts":   `const a = 1; export { a as "export{b};", a as '"', a as "\u2028", a as "\u{10FFFF}", a as "\0" };`,
		"functions.ts": `export function upgradeState() {} export async function* upgradeContext() {} export let l, m = 2;`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if name != "lib.ts" {
			cases = append(cases, Options{Dir: dir, Entry: name})
		}
	}
	for _, o := range cases {
		t.Run(filepath.Base(o.Dir)+"/"+o.Entry, func(t *testing.T) {
			t.Parallel()
			opts := options(o)
			opts.Metafile = true
			res := api.Build(opts)
			if len(res.Errors) > 0 {
				t.Fatal(res.Errors)
			}
			want, err := metafileExports(res.Metafile)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := outputExports(res.OutputFiles[0].Contents)
			if !ok {
				if len(want) > 0 {
					t.Fatalf("outputExports could not read the exports %q from:\n%s", want, res.OutputFiles[0].Contents)
				}
				return // the metafile decides, as Build asks it
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("exports (-metafile +code):\n%s\ncode:\n%s", diff, res.OutputFiles[0].Contents)
			}
		})
	}
}

// TestOutputExportsLeavesOutAmbiguous checks the one way in which the code
// and the metafile differ: a name that two "export *" both re-export is
// ambiguous, so esbuild leaves it out of the module, but lists it in the
// metafile. The module is what the platform runs.
func TestOutputExportsLeavesOutAmbiguous(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, src := range map[string]string{
		"entry.ts": `export * from "./b"; export * from "./c";`,
		"b.ts":     `export const upgradeState = 1; export const onlyB = 2;`,
		"c.ts":     `export const upgradeState = 3;`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := options(Options{Dir: dir, Entry: "entry.ts"})
	opts.Metafile = true
	res := api.Build(opts)
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	fromMeta, err := metafileExports(res.Metafile)
	if err != nil {
		t.Fatal(err)
	}
	fromCode, ok := outputExports(res.OutputFiles[0].Contents)
	if !ok {
		t.Fatalf("cannot read the exports of:\n%s", res.OutputFiles[0].Contents)
	}
	if diff := cmp.Diff([]string{"onlyB", "upgradeState"}, fromMeta); diff != "" {
		t.Errorf("metafile (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"onlyB"}, fromCode); diff != "" {
		t.Errorf("code (-want +got):\n%s", diff)
	}
	_, err = Build(context.Background(), Options{Dir: dir, Entry: "entry.ts", Kind: Migration})
	var ee *ExportsError
	if !errors.As(err, &ee) || !slices.Contains(ee.Missing, "upgradeState") {
		t.Errorf("Build: err = %v, want an *ExportsError missing upgradeState", err)
	}
}

// FuzzOutputExports exports a value under two fuzzed names, bundles the
// module with the upload's options, and checks that outputExports reads the
// names that the metafile lists; and that no input makes it panic.
func FuzzOutputExports(f *testing.F) {
	seeds := []string{
		"default", "upgradeState", "a b", `"`, `'`, `\`, "`", "${x}", "};", "export{a};", `";export{b as c};"`,
		`x'};`, "\x00", "\x001", "\x07", "\u2028", "\ufeff", "café", "😀", "\U0010FFFF", "as", "</script>", "\r\n",
	}
	for i, seed := range seeds {
		f.Add(seed, seeds[(i+1)%len(seeds)])
	}
	f.Add(`;export{q as "`, `",s as t}`)
	f.Add(`p;export{q as "`, `x";export{y};`)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, name1, name2 string) {
		outputExports([]byte(name1 + name2)) // anything at all: no panic
		if !utf8.ValidString(name1) || !utf8.ValidString(name2) {
			t.Skip("export names are Unicode")
		}
		q1, err1 := json.Marshal(name1) // a JavaScript string literal too
		q2, err2 := json.Marshal(name2)
		if err1 != nil || err2 != nil {
			t.Skip(err1, err2)
		}
		src := "const a = 1, b = 2;\nexport { a as " + string(q1) + ", b as " + string(q2) + ", a as upgradeState };\n"
		opts := options(Options{Dir: dir, Entry: "entry.ts"}) // the options only: the code comes from stdin
		opts.EntryPoints = nil
		opts.Stdin = &api.StdinOptions{Contents: src, Loader: api.LoaderTS}
		opts.Metafile = true
		res := api.Build(opts)
		if len(res.Errors) > 0 {
			t.Skip(res.Errors[0].Text) // names esbuild refuses: the same name twice, a lone surrogate
		}
		code := res.OutputFiles[0].Contents
		want, err := metafileExports(res.Metafile)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := outputExports(code)
		if !ok {
			t.Fatalf("cannot read the exports %q from:\n%s", want, code)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("exports (-metafile +code):\n%s\ncode:\n%s", diff, code)
		}
	})
}

// TestBuildAsksTheMetafile checks Build where the code does not end with an
// export statement: an entry point that exports nothing, whose exports the
// metafile of a second build gives.
func TestBuildAsksTheMetafile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "entry.ts"), []byte(`globalThis.o = { a: 1 };`), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Build(context.Background(), Options{Dir: dir, Entry: "entry.ts"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := outputExports(b.Code); ok {
		t.Fatalf("outputExports reads %q, so this test does not test the metafile", b.Code)
	}
	if diff := cmp.Diff([]string{}, b.Exports); diff != "" {
		t.Errorf("exports (-want +got):\n%s", diff)
	}
	_, err = Build(context.Background(), Options{Dir: dir, Entry: "entry.ts", Kind: MachineVersion})
	var ee *ExportsError
	if !errors.As(err, &ee) || len(ee.Have) != 0 || len(ee.Missing) != 3 {
		t.Errorf("err = %v, want an *ExportsError missing all three exports", err)
	}
}
