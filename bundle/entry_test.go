package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEntryExtensions builds an entry point of each module extension. An
// ES module entry, whatever its extension, has its named exports; a
// CommonJS one cannot (esbuild makes its module.exports the bundle's
// default export), and the error says why. Whether Build takes the entry
// for CommonJS is checked against the format esbuild's metafile gives it.
func TestEntryExtensions(t *testing.T) {
	t.Parallel()
	const (
		esm = "export function upgradeState(s: string) { return s; }\nexport function upgradeContext(c: object) { return c; }\n"
		cjs = "exports.upgradeState = (s) => s;\nexports.upgradeContext = (c) => c;\n"
	)
	tests := []struct {
		name, entry, src string
		kind             Kind
		commonJS         bool     // esbuild takes the entry for a CommonJS module
		exports          []string // the bundle's, if it builds
		missing          []string // the *ExportsError's, if not
	}{
		{"ES module .mts", "entry.mts", `import { same } from "./same.mjs";` + "\nexport const upgradeState = same;\nexport const upgradeContext = (c: object): object => c;\n",
			Migration, false, []string{"upgradeContext", "upgradeState"}, nil},
		{"ES module .mjs", "entry.mjs", "export const upgradeState = (s) => s;\nexport const upgradeContext = (c) => c;\n",
			Migration, false, []string{"upgradeContext", "upgradeState"}, nil},
		{"ES module syntax in .cts", "entry.cts", esm, Migration, false, []string{"upgradeContext", "upgradeState"}, nil},
		{"ES module syntax in .cjs", "entry.cjs", "export const upgradeState = (s) => s;\nexport const upgradeContext = (c) => c;\n",
			Migration, false, []string{"upgradeContext", "upgradeState"}, nil},
		{"CommonJS .cts, exports.name", "entry.cts", "const f = (s: string): string => s;\nexports.upgradeState = f;\nexports.upgradeContext = f;\n",
			Migration, true, nil, []string{"upgradeState", "upgradeContext"}},
		{"CommonJS .cjs, module.exports", "entry.cjs", "module.exports = { upgradeState(s) { return s; }, upgradeContext(c) { return c; } };\n",
			Migration, true, nil, []string{"upgradeState", "upgradeContext"}},
		{"CommonJS .js", "entry.js", cjs, Migration, true, nil, []string{"upgradeState", "upgradeContext"}},
		{"CommonJS machine: only the default export", "entry.cjs", "module.exports = { allowRead() { return true; }, allowWrite() { return true; } };\n",
			MachineVersion, true, nil, []string{"allowRead", "allowWrite"}},
		{"CommonJS, no exports asked for", "entry.cjs", cjs, 0, true, []string{"default"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeApp(t, map[string]string{tt.entry: tt.src, "same.mts": "export const same = <T,>(x: T): T => x;\n"})
			o := Options{Dir: dir, Entry: tt.entry, Kind: tt.kind}
			res, err := buildOne(context.Background(), o, withMetafile)
			if err != nil {
				t.Fatal(err)
			}
			var meta struct {
				Inputs map[string]struct {
					Format string `json:"format"`
				} `json:"inputs"`
			}
			if err := json.Unmarshal([]byte(res.Metafile), &meta); err != nil {
				t.Fatal(err)
			}
			if format := meta.Inputs[tt.entry].Format; (format == "cjs") != tt.commonJS {
				t.Fatalf("esbuild's metafile gives %s the format %q; the test expects CommonJS: %v", tt.entry, format, tt.commonJS)
			}

			b, err := Build(context.Background(), o)
			if tt.missing == nil {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				if diff := cmp.Diff(tt.exports, b.Exports); diff != "" {
					t.Errorf("exports (-want +got):\n%s", diff)
				}
				return
			}
			var ee *ExportsError
			if !errors.As(err, &ee) {
				t.Fatalf("err = %v, want an *ExportsError", err)
			}
			if diff := cmp.Diff(tt.missing, ee.Missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			if ee.CommonJS != tt.commonJS {
				t.Errorf("CommonJS = %v, want %v", ee.CommonJS, tt.commonJS)
			}
			if msg := err.Error(); ee.CommonJS != strings.Contains(msg, "is a CommonJS module") || !strings.Contains(msg, tt.entry) {
				t.Errorf("error %q does not say that %s is a CommonJS module", msg, tt.entry)
			}
		})
	}
}
