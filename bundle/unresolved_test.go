package bundle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"
	"github.com/google/go-cmp/cmp"
)

// writeApp writes files, by path relative to a new directory, and returns
// the directory.
func writeApp(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestUnresolvedImports builds entry points that import what is not there,
// and checks that each message names the import path as the source wrote
// it, and what it names.
func TestUnresolvedImports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, entry string
		check       bool // build the evaluation variant (BuildCheck), which bundles xstate
		want        string
		kind        ImportKind
	}{
		{"a Node.js built-in", `import { randomUUID } from "crypto"; export const id = randomUUID;`, false, "crypto", NodeImport},
		{"a Node.js built-in with node:", `import { randomUUID } from "node:crypto"; export const id = randomUUID;`, false, "node:crypto", NodeImport},
		{"buffer", `import { Buffer } from "buffer"; export const b = Buffer;`, false, "buffer", NodeImport},
		{"a built-in subpath, required", `const fs = require("fs/promises"); export const f = fs;`, false, "fs/promises", NodeImport},
		{"a node: module esbuild does not know", `import test from "node:test"; export const t = test;`, false, "node:test", NodeImport},
		{"escapes decoded", `import c from '\x63rypto'; export const x = c;`, false, "crypto", NodeImport},
		{"a package not installed", `import pad from "left-pad-not-installed"; export const p = pad;`, false, "left-pad-not-installed", PackageImport},
		{"a scoped package's subpath", `export const p = () => import("@acme/tools/strings");`, false, "@acme/tools/strings", PackageImport},
		{"a file not there", `import u from "./util"; export const x = u;`, false, "./util", PathImport},
		{"a path that quotes a message", `import u from './Could not resolve "x"'; export const x = u;`, false, `./Could not resolve "x"`, PathImport},
		{"xstate, which the evaluation variant bundles", `import { createMachine } from "xstate"; export const m = createMachine;`, true, "xstate", XstateImport},
		{"an xstate subpath", `import { and } from "xstate/guards"; export const g = and;`, true, "xstate/guards", XstateImport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := Options{Dir: writeApp(t, map[string]string{"entry.ts": tt.entry}), Entry: "entry.ts"}
			var err error
			if tt.check {
				_, err = BuildCheck(context.Background(), o, Check{GlobalName: "m", Outfile: "check.js"})
			} else {
				_, err = Build(context.Background(), o)
			}
			var be *BuildError
			if !errors.As(err, &be) || len(be.Messages) != 1 {
				t.Fatalf("err = %v, want a *BuildError with one message", err)
			}
			m := be.Messages[0]
			if m.Unresolved != tt.want || m.File != "entry.ts" || m.Line != 1 {
				t.Errorf("message = %+v, want entry.ts:1 with Unresolved %q", m, tt.want)
			}
			if got := KindOfImport(m.Unresolved); got != tt.kind {
				t.Errorf("KindOfImport(%q) = %v, want %v", m.Unresolved, got, tt.kind)
			}
		})
	}
}

// TestResolvedMessagesNameNoImport checks that a message about anything
// else has no Unresolved path: esbuild's own, and the workspace rule's,
// which also start with a quoted path.
func TestResolvedMessagesNameNoImport(t *testing.T) {
	t.Parallel()
	for name, entry := range map[string]string{
		"syntax error":                  `export const x = {;`,
		"outside the workspace":         `import p from "/etc/passwd"; export const x = p;`,
		"an unsupported type attribute": `import u from "./u.js" with { type: "css" }; export const x = u;`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := writeApp(t, map[string]string{"entry.ts": entry, "u.js": "export default 1;"})
			_, err := Build(context.Background(), Options{Dir: dir, Entry: "entry.ts"})
			var be *BuildError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want a *BuildError", err)
			}
			for _, m := range be.Messages {
				if m.Unresolved != "" {
					t.Errorf("message %q has Unresolved %q, want none", m.Text, m.Unresolved)
				}
			}
		})
	}
}

func TestUnresolvedPath(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		`Could not resolve "crypto"`:                           "crypto",
		`Could not resolve "a \"b\" \\ c"`:                     `a "b" \ c`,
		`Could not resolve "caf\u00e9"`:                        "café",
		`Could not resolve "npm:xstate" (originally "xstate")`: "xstate",
		`Could not resolve "x" (originally "y"`:                "",
		`Could not resolve "x" and more`:                       "",
		`Could not resolve "unterminated`:                      "",
		`Could not resolve crypto`:                             "",
		`"crypto" is outside the workspace`:                    "",
		`Expected "}" but found ";"`:                           "",
		"":                                                     "",
	} {
		if got := unresolvedPath(text); got != want {
			t.Errorf("unresolvedPath(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestKindOfImport(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]ImportKind{
		"crypto":             NodeImport,
		"node:crypto":        NodeImport,
		"node:sqlite":        NodeImport,
		"fs/promises":        NodeImport,
		"_http_agent":        NodeImport,
		"crypto/x":           PackageImport, // no such module: a package's subpath
		"crypto-js":          PackageImport,
		"lodash-es/map":      PackageImport,
		"@scope/pkg":         PackageImport,
		"xstate":             XstateImport,
		"xstate/guards":      XstateImport,
		"xstate-tools":       PackageImport,
		"@xstate/store":      PackageImport,
		"./crypto":           PathImport,
		"../x.js":            PathImport,
		"/abs/x.ts":          PathImport,
		".":                  PathImport,
		"https://esm.sh/x":   PathImport,
		"data:text/js,x":     PathImport,
		"//cdn.example/x.js": PathImport,
	} {
		if got := KindOfImport(p); got != want {
			t.Errorf("KindOfImport(%q) = %v, want %v", p, got, want)
		}
	}
	for p, want := range map[string]string{"crypto": "crypto", "node:crypto": "crypto", "node:test/reporters": "test/reporters"} {
		if got, ok := NodeBuiltin(p); !ok || got != want {
			t.Errorf("NodeBuiltin(%q) = %q, %v, want %q, true", p, got, ok, want)
		}
	}
	for _, p := range []string{"node:", "lodash", "./fs", "Crypto"} {
		if got, ok := NodeBuiltin(p); ok {
			t.Errorf("NodeBuiltin(%q) = %q, true, want false", p, got)
		}
	}
}

// TestNodeBuiltinsAsEsbuildKnowsThem imports every name in nodeBuiltins,
// and a few others, and compares the list with esbuild's, whose only trace
// in its API is a note on the error: "The package "fs" wasn't found on the
// file system but is built into node."
func TestNodeBuiltinsAsEsbuildKnowsThem(t *testing.T) {
	t.Parallel()
	names := append(slices.Sorted(maps.Keys(nodeBuiltins)), "node:crypto", "node:test", "left-pad", "crypto/x")
	var src strings.Builder
	for i, name := range names {
		fmt.Fprintf(&src, "import * as m%d from %q; export { m%d };\n", i, name, i)
	}
	dir := writeApp(t, map[string]string{"entry.js": src.String()})
	o := Options{Dir: dir, Entry: "entry.js"}
	res, err := buildOne(context.Background(), o, func(*api.BuildOptions) {})
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BuildError", err)
	}
	esbuildSays := map[string]bool{}
	for _, m := range res.Errors {
		p := unresolvedPath(m.Text)
		if p == "" {
			t.Fatalf("unexpected message %q", m.Text)
		}
		esbuildSays[p] = slices.ContainsFunc(m.Notes, func(n api.Note) bool {
			return strings.Contains(n.Text, "but is built into node")
		})
	}
	if len(esbuildSays) != len(names) {
		t.Fatalf("esbuild reported %d of the %d imports", len(esbuildSays), len(names))
	}
	var differ []string
	for _, name := range names {
		if _, ours := NodeBuiltin(name); ours != esbuildSays[name] {
			differ = append(differ, name)
		}
	}
	// Node.js 20 lists the first two, which esbuild 0.28's list lacks; and
	// NodeBuiltin takes every "node:" path for Node's, where esbuild notes
	// only those in its list.
	if diff := cmp.Diff([]string{"inspector/promises", "readline/promises", "node:test"}, differ); diff != "" {
		t.Errorf("names on which NodeBuiltin and esbuild differ (-want +got):\n%s", diff)
	}
}
