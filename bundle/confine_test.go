//go:build unix

package bundle

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evanw/esbuild/pkg/api"

	"sbdeploy/testdata/genapp"
)

// tree is a test layout made at test time: a workspace, and beside it a
// directory outside the workspace whose files hold a marker that must never
// reach a bundle or an error.
type tree struct {
	ws, outside, marker string
}

func newTree(t *testing.T) *tree {
	t.Helper()
	base := t.TempDir()
	tr := &tree{ws: filepath.Join(base, "ws"), outside: filepath.Join(base, "outside"), marker: "SECRET-" + randomHex(t, 8)}
	tr.file(t, tr.outside+"/secret.js", `export default "`+tr.marker+`";`)
	tr.file(t, tr.outside+"/evil/package.json", `{"name": "evil", "main": "index.js"}`)
	tr.file(t, tr.outside+"/evil/index.js", `export default "`+tr.marker+`";`)
	if err := os.MkdirAll(tr.ws, 0o755); err != nil {
		t.Fatal(err)
	}
	return tr
}

// path is p in the workspace, or p itself if absolute; "{outside}" in p
// names the directory outside.
func (tr *tree) path(p string) string {
	p = tr.expand(p)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(tr.ws, p)
}

func (tr *tree) expand(s string) string { return strings.ReplaceAll(s, "{outside}", tr.outside) }

func (tr *tree) file(t *testing.T, p, contents string) {
	t.Helper()
	p = tr.path(p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(tr.expand(contents)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (tr *tree) link(t *testing.T, p, target string) {
	t.Helper()
	p = tr.path(p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(tr.expand(target), p); err != nil {
		t.Fatal(err)
	}
}

func (tr *tree) fifo(t *testing.T, p string) string {
	t.Helper()
	p = tr.path(p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// refused is a build that breaks the workspace rule, and the message that
// must refuse it.
type refused struct {
	name  string
	setup func(t *testing.T, tr *tree)
	dir   string // Dir and Root, in the workspace; "" is the workspace
	entry string // entry.js's source
	file  string // where the message must be: entry.js unless set ("-" for no file)
	line  int    // its line
	want  string // what its text must contain; "{outside}" is the directory outside
}

// refusals are imports, of every kind and by every way esbuild resolves
// them, of modules outside the workspace, in .git, or that are not a
// regular file under the cap. What esbuild's resolver reads on the way
// (package.json, tsconfig.json) is the worker's to confine, not Build's.
func refusals() []refused {
	const out = `"{outside}/secret.js" is outside the workspace`
	const evil = `"{outside}/evil/index.js" is outside the workspace`
	return []refused{
		{name: "absolute import", entry: `import s from "{outside}/secret.js"; export default s;`, line: 1, want: out},
		{name: "/proc/self/environ as text", entry: "// secrets\nimport env from \"/proc/self/environ\" with { type: \"text\" };\nexport default env;",
			line: 2, want: `/environ" is outside the workspace`},
		{name: "relative import that climbs out", entry: `import s from "../outside/secret.js"; export default s;`, line: 1, want: out},
		{name: "a sibling whose name begins with the workspace's", setup: func(t *testing.T, tr *tree) {
			tr.file(t, tr.ws+"2/secret.js", `export default "`+tr.marker+`";`)
		}, entry: `import s from "../ws2/secret.js"; export default s;`, line: 1, want: `/ws2/secret.js" is outside the workspace`},
		{name: "require()", entry: `export default require("../outside/secret.js");`, line: 1, want: out},
		{name: "require() that handles its failure", entry: "let s;\ntry { s = require(\"{outside}/secret.js\"); } catch {}\nexport default s;",
			line: 2, want: out},
		{name: "dynamic import()", entry: `export const load = () => import("{outside}/secret.js");`, line: 1, want: out},
		{name: "dynamic import() of a template, which esbuild globs", entry: "export const load = (x) =>\n  import(`../outside/${x}.js`);",
			line: 2, want: evil},
		{name: "entry point outside", entry: "export default 1;", file: "-", want: out},
		{name: "node_modules package symlinked outside",
			setup: func(t *testing.T, tr *tree) { tr.link(t, "node_modules/evil", "{outside}/evil") },
			entry: `import s from "evil"; export default s;`, line: 1, want: evil},
		{name: "a package's main outside the workspace", setup: func(t *testing.T, tr *tree) {
			tr.file(t, "node_modules/pkg/package.json", `{"main": "../../../outside/evil"}`)
			tr.file(t, "node_modules/pkg/index.js", "export default 1;")
		}, entry: `import x from "pkg"; export default x;`, line: 1, want: evil},
		{name: "tsconfig paths leading outside",
			setup: func(t *testing.T, tr *tree) {
				tr.file(t, "tsconfig.json", `{"compilerOptions": {"paths": {"@secret/*": ["../outside/*"]}}}`)
			},
			entry: `import s from "@secret/secret.js"; export default s;`, line: 1, want: out},
		{name: "tsconfig paths to a directory outside", setup: func(t *testing.T, tr *tree) {
			tr.file(t, "tsconfig.json", `{"compilerOptions": {"paths": {"x": ["{outside}/evil"]}}}`)
		}, entry: `import x from "x"; export default x;`, line: 1, want: evil},
		{name: "Yarn PnP manifest that places a package outside", setup: func(t *testing.T, tr *tree) {
			tr.file(t, ".pnp.data.json", `{"packageRegistryData": [[null, [[null, {"packageLocation": "./", "packageDependencies": [["evil", "npm:1.0.0"]]}]]],`+
				`["evil", [["npm:1.0.0", {"packageLocation": "../outside/evil/", "packageDependencies": []}]]]]}`)
		}, entry: `import e from "evil"; export default e;`, line: 1, want: evil},
		{name: "source directory symlinked outside",
			setup: func(t *testing.T, tr *tree) { tr.link(t, "shared", "{outside}") },
			entry: `import s from "./shared/secret.js"; export default s;`, line: 1, want: out},
		{name: "FIFO", setup: func(t *testing.T, tr *tree) { tr.fifo(t, "pipe.txt") },
			entry: `import p from "./pipe.txt"; export default p;`, line: 1, want: `"pipe.txt" is not a regular file (a FIFO)`},
		{name: "/dev/zero as text", entry: `import z from "/dev/zero" with { type: "text" }; export default z;`,
			line: 1, want: `"/dev/zero" is outside the workspace`},
		{name: "symlink to /dev/zero", setup: func(t *testing.T, tr *tree) { tr.link(t, "zero.txt", "/dev/zero") },
			entry: `import z from "./zero.txt"; export default z;`, line: 1, want: `"/dev/zero" is outside the workspace`},
		{name: "file over the cap", setup: func(t *testing.T, tr *tree) {
			tr.file(t, "big.txt", strings.Repeat("a", maxFileBytes+1))
		}, entry: `import b from "./big.txt"; export default b;`, line: 1, want: `"big.txt" is 10000001 bytes`},
		{name: "the checkout's .git/config as text", setup: gitCheckout,
			entry: "import c from \"./.git/config\" with { type: \"text\" };\nexport default c;",
			line:  1, want: `".git/config" is in a .git directory`},
		{name: "a symlink to .git/config", setup: func(t *testing.T, tr *tree) {
			gitCheckout(t, tr)
			tr.link(t, "lib/settings.txt", "../.git/config")
		}, entry: `import c from "./lib/settings.txt"; export default c;`, line: 1, want: `".git/config" is in a .git directory`},
		{name: "a directory named .GIT, which a case-insensitive file system takes for .git", setup: func(t *testing.T, tr *tree) {
			tr.file(t, ".GIT/config", gitConfig(tr))
		}, entry: `import c from "./.GIT/config" with { type: "text" }; export default c;`, line: 1, want: `".GIT/config" is in a .git directory`},
		{name: "a nested repository's .git", setup: func(t *testing.T, tr *tree) {
			tr.file(t, "vendor/lib/.Git/config", gitConfig(tr))
		}, entry: `import c from "./vendor/lib/.Git/config" with { type: "text" }; export default c;`, line: 1,
			want: `"vendor/lib/.Git/config" is in a .git directory`},
		{name: "the workspace's .git under another name", setup: func(t *testing.T, tr *tree) {
			// As GIT~1 or .git. name it on Windows: here .git is a symlink
			// to repo, which is then the same directory by identity.
			tr.file(t, "repo/config", gitConfig(tr))
			tr.link(t, ".git", "repo")
		}, entry: `import c from "./repo/config" with { type: "text" }; export default c;`, line: 1, want: `"repo/config" is in a .git directory`},
	}
}

// gitCheckout puts in the workspace the .git/config that actions/checkout
// writes, with its token (the outside marker stands for it).
func gitCheckout(t *testing.T, tr *tree) { tr.file(t, ".git/config", gitConfig(tr)) }

// gitConfig is a .git/config with a token, the outside marker.
func gitConfig(tr *tree) string {
	return "[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic " + tr.marker + "\n"
}

// TestBuildRefusesWhatTheWorkspaceRuleForbids builds each attack on the
// runner's secrets and time, and checks that the build fails at once, with
// a message that names the path and is placed where it was imported, and
// that nothing of the file outside leaks into the error.
func TestBuildRefusesWhatTheWorkspaceRuleForbids(t *testing.T) {
	t.Parallel()
	for _, tt := range refusals() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTree(t)
			dir := filepath.Join(tr.ws, tt.dir)
			tr.file(t, filepath.Join(dir, "entry.js"), tt.entry)
			if tt.setup != nil {
				tt.setup(t, tr)
			}
			entry := "entry.js"
			if tt.name == "entry point outside" {
				entry = "../outside/secret.js"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			b, err := Build(ctx, Options{Dir: dir, Entry: entry})
			checkRefused(t, tr, b, err, tt.file, tt.line, tr.expand(tt.want))
		})
	}
}

// checkRefused checks that err is a *BuildError with a message whose text
// contains want and that is placed at file ("" for entry.js, "-" for none)
// and line, and that nothing of the file outside was read into b or err.
func checkRefused(t *testing.T, tr *tree, b *Bundle, err error, file string, line int, want string) {
	t.Helper()
	if b != nil {
		t.Errorf("Build made a bundle; its code has the outside marker: %v", strings.Contains(string(b.Code), tr.marker))
	}
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BuildError", err)
	}
	if strings.Contains(err.Error(), tr.marker) {
		t.Errorf("the error holds the outside file's content: %v", err)
	}
	switch file {
	case "":
		file = "entry.js"
	case "-":
		file = ""
	}
	for _, m := range be.Messages {
		if strings.Contains(m.Text, want) {
			if m.File != file || m.Line != line {
				t.Errorf("message at %s:%d, want %s:%d: %s", m.File, m.Line, file, line, m.Text)
			}
			return
		}
	}
	t.Errorf("no message contains %q:\n%v", want, err)
}

// allowed is a build the workspace rule must allow.
type allowed struct {
	name     string
	setup    func(t *testing.T, tr *tree)
	dir      string // Dir, in the workspace, which is Root
	entry    string
	want     []string // in the code
	wantNot  []string // not in the code, besides the outside marker
	unsameOK bool     // the code may differ from esbuild's own (see loaderFor)
}

// allowedBuilds are layouts that real projects have, all inside the
// workspace.
func allowedBuilds() []allowed {
	return []allowed{
		{name: "pnpm layout with symlinks inside the workspace", setup: pnpmLayout,
			entry: `import lib from "lib"; export default lib;`, want: []string{"LIB-CODE", "DEP-CODE"}},
		{name: "monorepo with node_modules hoisted above Dir", setup: monorepoLayout, dir: "packages/app",
			entry: "import lib from \"lib\";\nimport util from \"@ws/util\";\nimport { shared } from \"@shared/names\";\nexport default [lib, util, shared];",
			want:  []string{"HOISTED-LIB", "WORKSPACE-UTIL", "SHARED-NAMES"}},
		{name: "xstate alias, even with a node_modules/xstate outside",
			setup: func(t *testing.T, tr *tree) { tr.link(t, "node_modules/xstate", "{outside}/evil") },
			entry: `import { createMachine } from "xstate"; export default createMachine;`, want: []string{`from"npm:xstate"`}},
		{name: "JSON and text imports", setup: func(t *testing.T, tr *tree) {
			tr.file(t, "data.json", `{"answer": "JSON-DATA"}`)
			tr.file(t, "notes.md", "TEXT-NOTES")
			tr.file(t, "bytes.bin", "BYTES")
		}, entry: "import data from \"./data.json\";\nimport notes from \"./notes.md\" with { type: \"text\" };\n" +
			"import bytes from \"./bytes.bin\" with { type: \"bytes\" };\nexport default [data.answer, notes, bytes];",
			want: []string{"JSON-DATA", "TEXT-NOTES", `"QllURVM="`}},
		{name: "JSON imported with type json", setup: func(t *testing.T, tr *tree) { tr.file(t, "data.json", `{"answer": "JSON-DATA"}`) },
			entry: `import data from "./data.json" with { type: "json" }; export default data.answer;`,
			want:  []string{"JSON-DATA"}, unsameOK: true},
		{name: "modules a browser map disables stay empty", setup: browserLayout,
			entry: `import iso from "iso"; import heavy from "heavy"; export default [iso, heavy];`,
			want:  []string{"ISO-BROWSER"}, wantNot: []string{"NODE-ONLY", "HEAVY-MODULE"}},
		{name: "tsconfig paths and extends inside the workspace", setup: func(t *testing.T, tr *tree) {
			tr.file(t, "tsconfig.base.json", `{"compilerOptions": {"baseUrl": ".", "paths": {"@/*": ["src/*"]}}}`)
			tr.file(t, "tsconfig.json", "{\n  // comments and trailing commas, as tsc allows\n  \"extends\": \"./tsconfig.base\",\n}")
			tr.file(t, "src/util.ts", `export const util: string = "PATHS-UTIL";`)
		}, entry: `import { util } from "@/util"; export default util;`, want: []string{"PATHS-UTIL"}},
		{name: "tsconfig extends a package that a node_modules above the workspace also has", setup: func(t *testing.T, tr *tree) {
			tr.file(t, "../node_modules/@cfg/base/tsconfig.json", `{"compilerOptions": {"paths": {"@/*": ["elsewhere/*"]}}}`)
			tr.file(t, "node_modules/@cfg/base/tsconfig.json", `{"compilerOptions": {"baseUrl": ".", "paths": {"@/*": ["../../../src/*"]}}}`)
			tr.file(t, "tsconfig.json", `{"extends": "@cfg/base/tsconfig.json"}`)
			tr.file(t, "src/util.ts", `export const util: string = "EXTENDS-UTIL";`)
		}, entry: `import { util } from "@/util"; export default util;`, want: []string{"EXTENDS-UTIL"}},
		{name: "a package.json that is JSON but not an object", setup: func(t *testing.T, tr *tree) {
			tr.file(t, "node_modules/odd/package.json", `[]`)
			tr.file(t, "node_modules/odd/index.js", `export default "ODD-INDEX";`)
		}, entry: `import odd from "odd"; export default odd;`, want: []string{"ODD-INDEX"}},
	}
}

// TestBuildKeepsWorkingInsideTheWorkspace builds layouts that the rule must
// allow, and checks that each bundle is byte for byte the one esbuild makes
// without the rule, and holds what it imports.
func TestBuildKeepsWorkingInsideTheWorkspace(t *testing.T) {
	t.Parallel()
	for _, tt := range allowedBuilds() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTree(t)
			dir := filepath.Join(tr.ws, tt.dir)
			tr.file(t, filepath.Join(dir, "entry.js"), tt.entry)
			if tt.setup != nil {
				tt.setup(t, tr)
			}
			o := Options{Dir: dir, Entry: "entry.js", Root: tr.ws}
			b, err := Build(context.Background(), o)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			code := string(b.Code)
			for _, s := range append(tt.wantNot, tr.marker) {
				if strings.Contains(code, s) {
					t.Errorf("code has %q:\n%s", s, code)
				}
			}
			for _, s := range tt.want {
				if !strings.Contains(code, s) {
					t.Errorf("code lacks %q:\n%s", s, code)
				}
			}
			if native := nativeBuild(t, o); native != code && !tt.unsameOK {
				t.Errorf("code differs from esbuild's own:\n got %s\nwant %s", code, native)
			}
		})
	}
}

// nativeBuild is the code esbuild makes of o without the workspace rule.
func nativeBuild(t *testing.T, o Options) string {
	t.Helper()
	res := api.Build(options(o))
	if len(res.Errors) > 0 || len(res.OutputFiles) != 1 {
		t.Fatalf("esbuild alone: %v", res.Errors)
	}
	return string(res.OutputFiles[0].Contents)
}

// pnpmLayout is how pnpm installs lib, which depends on dep: each package in
// node_modules/.pnpm, linked where node resolution finds it.
func pnpmLayout(t *testing.T, tr *tree) {
	store := "node_modules/.pnpm/"
	tr.file(t, store+"lib@1.0.0/node_modules/lib/package.json", `{"name": "lib", "main": "index.js"}`)
	tr.file(t, store+"lib@1.0.0/node_modules/lib/index.js", `module.exports = "LIB-CODE" + require("dep");`)
	tr.link(t, store+"lib@1.0.0/node_modules/dep", "../../dep@2.0.0/node_modules/dep")
	tr.file(t, store+"dep@2.0.0/node_modules/dep/package.json", `{"name": "dep", "exports": {".": {"require": "./dist/index.cjs"}}}`)
	tr.file(t, store+"dep@2.0.0/node_modules/dep/dist/index.cjs", `module.exports = "DEP-CODE";`)
	tr.link(t, "node_modules/lib", ".pnpm/lib@1.0.0/node_modules/lib")
}

// monorepoLayout is a workspace whose app, in packages/app, imports a
// package hoisted to the workspace's node_modules, a workspace package
// linked there, and a file through the root tsconfig.json's "paths".
func monorepoLayout(t *testing.T, tr *tree) {
	tr.file(t, "package.json", `{"name": "ws", "private": true, "workspaces": ["packages/*"]}`)
	tr.file(t, "tsconfig.json", `{"compilerOptions": {"paths": {"@shared/*": ["./shared/*"]}}}`)
	tr.file(t, "shared/names.ts", `export const shared = "SHARED-NAMES";`)
	tr.file(t, "node_modules/lib/package.json", `{"name": "lib", "module": "esm/index.js"}`)
	tr.file(t, "node_modules/lib/esm/index.js", `export default "HOISTED-LIB";`)
	tr.file(t, "packages/util/package.json", `{"name": "@ws/util", "main": "index.ts"}`)
	tr.file(t, "packages/util/index.ts", `export default "WORKSPACE-UTIL" as string;`)
	tr.link(t, "node_modules/@ws/util", "../../packages/util")
	tr.file(t, "packages/app/package.json", `{"name": "app"}`)
}

// browserLayout has a package whose "browser" map disables one of its files,
// and a workspace whose "browser" map disables a whole package.
func browserLayout(t *testing.T, tr *tree) {
	tr.file(t, "package.json", `{"name": "app", "browser": {"heavy": false}}`)
	tr.file(t, "node_modules/heavy/index.js", `module.exports = "HEAVY-MODULE";`)
	tr.file(t, "node_modules/iso/package.json", `{"name": "iso", "main": "index.js", "browser": {"./node.js": false}}`)
	tr.file(t, "node_modules/iso/index.js", `module.exports = [require("./node.js"), "ISO-BROWSER"];`)
	tr.file(t, "node_modules/iso/node.js", `module.exports = "NODE-ONLY";`)
}

// TestBuildRefusesAFIFOAtOnce checks that an import of a FIFO, which once
// held a run until its time limit, fails at once rather than at the
// deadline.
func TestBuildRefusesAFIFOAtOnce(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	tr.file(t, "entry.js", `import p from "./pipe.txt"; export default p;`)
	tr.fifo(t, "pipe.txt")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	b, err := Build(ctx, Options{Dir: tr.ws, Entry: "entry.js"})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Build took %v", took)
	}
	checkRefused(t, tr, b, err, "", 1, `"pipe.txt" is not a regular file (a FIFO)`)
}

// TestBuildStopsWhenCtxEnds checks that Build returns ctx's error within
// about a second of ctx ending, both while esbuild works and while it is
// blocked in a read.
func TestBuildStopsWhenCtxEnds(t *testing.T) {
	t.Parallel()
	t.Run("mid-build of a large app", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		// largeApp modules take esbuild over a second to bundle here: far
		// past the deadline and the half second Build has to return in.
		entry, err := genapp.Write(dir, largeApp)
		if err != nil {
			t.Fatal(err)
		}
		checkStops(t, 100*time.Millisecond, Options{Dir: dir, Entry: entry}, nil)
	})
	t.Run("while esbuild blocks on a FIFO no plugin sees", func(t *testing.T) {
		t.Parallel()
		// esbuild reads sub/package.json itself, without asking plugins,
		// as it resolves the template import: that read blocks until a
		// writer opens the FIFO. Landlock allows it (the FIFO is in the
		// workspace), so the deadline is what stops it.
		tr := newTree(t)
		tr.file(t, "entry.js", "export const load = (x) => import(`./sub/${x}.js`);")
		tr.file(t, "sub/a.js", "export default 1;")
		fifo := tr.fifo(t, "sub/package.json")
		checkStops(t, 300*time.Millisecond, Options{Dir: tr.ws, Entry: "entry.js"}, func() { unblock(t, fifo) })
	})
}

// checkStops builds o under a ctx that times out after timeout, checks that
// Build returns ctx's error within half a second of the deadline, and then
// calls after, if set. A Build that has not returned 2 s after the deadline
// fails the test there, instead of holding it until go test's own timeout.
func checkStops(t *testing.T, timeout time.Duration, o Options, after func()) {
	t.Helper()
	if after != nil {
		defer after()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	returned := make(chan error, 1)
	go func() {
		_, err := Build(ctx, o)
		returned <- err
	}()
	var err error
	select {
	case err = <-returned:
	case <-time.After(timeout + 2*time.Second):
		t.Fatalf("Build has not returned 2 s after the deadline")
	}
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v after %v, want context.DeadlineExceeded", err, took)
	}
	if took > timeout+500*time.Millisecond {
		t.Errorf("Build returned %v after the deadline", took-timeout)
	}
}

// unblock opens the FIFO at path for writing and closes it, so that the
// read esbuild is blocked in, which Build abandoned, ends.
func unblock(t *testing.T, path string) {
	for range 50 {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			f.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Log("no reader came to the FIFO")
}

// TestCheckBuildReadsNoSourceMap builds the evaluation variant, which
// writes a source map, and for which esbuild would read, without asking
// the plugin, the map that each module's last source map comment names.
// Whatever the comment's form (relative, file: URL, escaped, in a block
// comment, past a separator that ends it for one parser and not another,
// in CSS), the build reads no map: each names a FIFO (which would block it)
// or a file outside that holds the marker (which would show in the check's
// map or an error). The modules esbuild loads itself, a data: URL or a
// file that a "browser" map may disable, are refused if they name a map.
func TestCheckBuildReadsNoSourceMap(t *testing.T) {
	t.Parallel()
	mapOf := func(marker string) string {
		return `{"version":3,"sources":["` + marker + `.ts"],"names":[],"mappings":"AAAA"}`
	}
	const climb = "../../../../../../../../../../../.."
	cases := []struct {
		name   string
		setup  func(t *testing.T, tr *tree)
		entry  string
		refuse string // the message that must refuse the build; "" if it must succeed
	}{
		{name: "relative, climbing out", entry: "export default 1;\n//# sourceMappingURL=../outside/secret.js.map\n"},
		{name: "file URL", entry: "export default 1;\n//# sourceMappingURL=file://{outside}/secret.js.map\n"},
		{name: "escaped dots", entry: "export default 1;\n//# sourceMappingURL=%2e%2e/outside/secret.js.map\n"},
		{name: "block comment", entry: "export default 1;\n/*# sourceMappingURL=../outside/secret.js.map */\n"},
		{name: "past U+2028", entry: "export default 1;\n/*# sourceMappingURL=x\u2028/" + climb + "{outside}/secret.js.map */\n"},
		{name: "a FIFO", setup: func(t *testing.T, tr *tree) { tr.fifo(t, "entry.js.map") },
			entry: "export default 1;\n//# sourceMappingURL=entry.js.map\n"},
		{name: "a FIFO outside", setup: func(t *testing.T, tr *tree) { tr.fifo(t, "{outside}/pipe.map") },
			entry: "export default 1;\n//# sourceMappingURL=file://{outside}/pipe.map\n"},
		{name: "in .git", setup: gitCheckout, entry: "export default 1;\n//# sourceMappingURL=.git/config\n"},
		{name: "in an imported module", setup: func(t *testing.T, tr *tree) {
			tr.file(t, "lib/x.js", "export function x() { return globalThis.location.href; }\n//# sourceMappingURL=../../outside/secret.js.map\n")
		}, entry: `import { x } from "./lib/x.js"; export default x();`},
		{name: "in CSS, past U+00A0", setup: func(t *testing.T, tr *tree) {
			tr.fifo(t, "{outside}/pipe.map")
			tr.file(t, "a.css", "a { color: red }\n/*# sourceMappingURL=x\u00a0/"+climb+"{outside}/pipe.map */\n")
		}, entry: `import "./a.css"; export default 1;`, refuse: "esbuild wrote 2 files"},
		{name: "a data: URL module", entry: `import "data:text/javascript,globalThis.q=1;%0A//%23%20sourceMapping%55RL=file://{outside}/secret.js.map"; export default 1;`,
			refuse: "names a source map"},
		{name: "a base64 data: URL module", entry: `import "data:text/javascript;base64,` +
			"Ly8jIHNvdXJjZU1hcHBpbmdVUkw9L2Rldi96ZXJv" + `"; export default 1;`, refuse: "names a source map"},
		{name: "a module a browser map may disable", setup: func(t *testing.T, tr *tree) {
			tr.file(t, "package.json", `{"browser": {"foo": false}}`)
			tr.file(t, "node_modules/foo/lib.js", "export const y = 2;\n//# sourceMappingURL=file://{outside}/secret.js.map\n")
		}, entry: `import { y } from "foo/lib.js"; export default y;`, refuse: "may be disabled by a"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTree(t)
			tr.file(t, "{outside}/secret.js.map", mapOf(tr.marker))
			tr.file(t, "entry.js", tt.entry)
			if tt.setup != nil {
				tt.setup(t, tr)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			code, err := BuildCheck(ctx, Options{Dir: tr.ws, Entry: "entry.js"}, Check{GlobalName: "m", Outfile: "check.js"})
			if err != nil && strings.Contains(err.Error(), tr.marker) {
				t.Fatalf("the error holds the outside map's content: %v", err)
			}
			if tt.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refuse) {
					t.Fatalf("BuildCheck = %v, want an error containing %q", err, tt.refuse)
				}
				return
			}
			if err != nil {
				t.Fatalf("BuildCheck: %v", err)
			}
			_, inline, ok := strings.Cut(string(code), "sourceMappingURL=data:application/json;base64,")
			if !ok {
				t.Fatalf("the check has no inline source map:\n%s", code)
			}
			m, err := base64.StdEncoding.DecodeString(strings.TrimSpace(inline))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(m), tr.marker) || !strings.Contains(string(m), "entry.js") {
				t.Errorf("the check's source map comes from elsewhere than the sources: %s", m)
			}
		})
	}
}

// TestBuildCountsFilesEsbuildReadsItself builds an app that imports files
// a "browser" map may disable, which esbuild reads itself: they count
// towards what the build reads too.
func TestBuildCountsFilesEsbuildReadsItself(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	tr.file(t, "node_modules/other/package.json", `{"browser": {"big": false}}`)
	tr.file(t, "node_modules/other/index.js", "export default 1;")
	var src strings.Builder
	for i := range 4 {
		tr.file(t, fmt.Sprintf("node_modules/big/p%d.js", i), "/*"+strings.Repeat("x", 3000)+"*/export default 1;")
		fmt.Fprintf(&src, "import p%d from \"big/p%d.js\";\n", i, i)
	}
	src.WriteString("import o from \"other\";\nexport default [o, p0, p1, p2, p3];\n")
	tr.file(t, "entry.js", src.String())
	_, err := Build(context.Background(), Options{Dir: tr.ws, Entry: "entry.js", Limits: Limits{Raw: 1000, Gzipped: 1000}})
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "past 10000 bytes") {
		t.Fatalf("Build: %v; want a *BuildError that the build read past 10000 bytes", err)
	}
}

// TestMessagesFromUncheckedFilesAreHidden builds an import that esbuild
// expands itself (a template literal, a glob), so that it reads a
// package.json that no plugin sees and that is a symlink to a secret
// outside: esbuild's message quotes what it could not parse, and the
// message must not reach the error.
func TestMessagesFromUncheckedFilesAreHidden(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	tr.file(t, "{outside}/token", tr.marker+"\n")
	tr.file(t, "sub/a.js", "export default 1;")
	tr.link(t, "sub/package.json", "{outside}/token")
	tr.file(t, "entry.js", "export const load = (x) => import(`./sub/${x}.js`);")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := Build(ctx, Options{Dir: tr.ws, Entry: "entry.js"})
	if err == nil {
		t.Fatalf("Build made a bundle: %v", strings.Contains(string(b.Code), tr.marker))
	}
	if strings.Contains(err.Error(), tr.marker) {
		t.Fatalf("the error holds the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "which it read itself rather than as a module") {
		t.Errorf("err = %v, want the hidden message", err)
	}
}

// TestBuildRefusesReadingPastItsTotal builds an app whose files are each
// under the per-file cap but together over the build's: ten times the raw
// limit.
func TestBuildRefusesReadingPastItsTotal(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	limits := Limits{Raw: 1000, Gzipped: 1000}
	var src strings.Builder
	for i := range 4 {
		name := fmt.Sprintf("part%d.txt", i)
		tr.file(t, name, strings.Repeat("x", 3000))
		fmt.Fprintf(&src, "import p%d from \"./%s\";\n", i, name)
	}
	src.WriteString("export default [p0, p1, p2, p3].join();\n")
	tr.file(t, "entry.js", src.String())
	b, err := Build(context.Background(), Options{Dir: tr.ws, Entry: "entry.js", Limits: limits})
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "past 10000 bytes") {
		t.Fatalf("Build = %v, %v; want a *BuildError that the build read past 10000 bytes", b != nil, err)
	}
}
