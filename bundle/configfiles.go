package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// This file covers the files that esbuild's resolver reads by name, which no
// plugin sees. In every directory it looks in, and in every directory above
// that one up to /, it reads package.json and, outside node_modules,
// tsconfig.json or jsconfig.json, with the files their "extends" names, and
// Yarn's PnP manifest. It reads them while it
// resolves an import, before any plugin hears of the directory, so they are
// checked ahead: above the workspace and on Dir's path before the build
// (preflight), and in the directories an import can lead to before esbuild
// resolves it (onResolve). onLoad checks a module's directories again before
// reading it, which catches, after esbuild's read, a directory that no
// import named (the confiner's documentation says what that leaves).

// dirFacts is what the confiner found among the files that esbuild reads by
// name in one directory.
type dirFacts struct {
	err      error        // the first of them that breaks the rule
	pkg      *packageJSON // nil if there is no package.json
	tsconfig *tsconfig    // nil if there is none, or esbuild ignores it
}

// checkChain checks the files esbuild reads by name in the directory d and
// in each directory above it in the workspace (those above were checked by
// preflight). The result is kept for each directory.
func (c *confiner) checkChain(d string) error {
	return c.checkChainFrom(d, nil)
}

// checkChainFrom is checkChain within a check that is visiting the
// directories in visiting, which it does not visit again. A package.json's
// "browser" map sends imports of paths below its directory elsewhere, so
// where it leads is checked with the directory, once.
func (c *confiner) checkChainFrom(d string, visiting map[string]bool) error {
	if !c.inside(d) || visiting[d] {
		return nil
	}
	c.mu.Lock()
	err, ok := c.chains[d]
	c.mu.Unlock()
	if ok {
		return err
	}
	if visiting == nil { // made on a miss only: most checks are hits
		visiting = map[string]bool{}
	}
	visiting[d] = true
	f := c.dirFacts(d)
	err = f.err
	if err == nil && f.pkg != nil {
		err = c.checkRemaps(d, f.pkg.remaps, visiting)
	}
	if err == nil && d != c.root {
		err = c.checkChainFrom(filepath.Dir(d), visiting)
	}
	c.mu.Lock()
	c.chains[d] = err
	c.mu.Unlock()
	return err
}

// checkRemaps checks where the "browser" map of the package.json in d
// sends paths: esbuild reads the files by name in those directories.
func (c *confiner) checkRemaps(d string, remaps []string, visiting map[string]bool) error {
	for _, t := range remaps {
		target := absJoin(d, t)
		real, mode, ok := c.realPath(target)
		if !c.inside(real) {
			if err := c.outsideTarget(c.show(target), real, ok); err != nil {
				return err
			}
			continue
		}
		dir := filepath.Dir(real)
		if ok && mode.IsDir() {
			dir = real
		}
		if err := c.checkChainFrom(dir, visiting); err != nil {
			return err
		}
	}
	return nil
}

// outsideTarget is the violation of the target what, which is real after
// symlinks, outside the workspace, and exists if exists: esbuild reads the
// files by name in it, or, if it does not exist, in the nearest directory
// above it that does (unless that one contains the workspace, whose
// directories checkAbove covers). nil if esbuild reads nothing there.
func (c *confiner) outsideTarget(what, real string, exists bool) error {
	at := real
	for !exists {
		parent := filepath.Dir(at)
		if parent == at {
			return nil
		}
		at = parent
		_, _, exists = c.realPath(at)
	}
	if at != real && (at == c.root || strings.HasPrefix(c.root, strings.TrimSuffix(at, string(filepath.Separator))+string(filepath.Separator))) {
		return nil
	}
	return &violation{what: what, why: fmt.Sprintf("leads to %s, outside the workspace (%s): "+
		"the bundle may only read files inside it", at, c.root)}
}

// dirFacts returns the facts of the directory d, checking its files the
// first time it is asked.
func (c *confiner) dirFacts(d string) *dirFacts {
	c.mu.Lock()
	f, ok := c.dirs[d]
	c.mu.Unlock()
	if ok {
		return f
	}
	f = c.checkDir(d)
	c.mu.Lock()
	c.dirs[d] = f
	c.mu.Unlock()
	return f
}

// checkDir checks the files esbuild reads by name in the directory d and
// keeps what matters of them. Inside node_modules esbuild ignores
// tsconfig.json and jsconfig.json; elsewhere it reads jsconfig.json only if
// there is no tsconfig.json, but both are checked. Yarn's PnP manifests are
// refused everywhere.
func (c *confiner) checkDir(d string) *dirFacts {
	f := &dirFacts{}
	names := []string{"package.json", "tsconfig.json", "jsconfig.json"}
	if insideNodeModules(d) {
		names = names[:1]
	}
	if f.err = c.checkPnP(d); f.err != nil {
		return f
	}
	for _, name := range names {
		data, real, err := c.readConfig(filepath.Join(d, name))
		switch {
		case err != nil:
			f.err = err
			return f
		case real == "":
		case name == "package.json":
			if f.pkg = c.notePackage(d, data); f.pkg == nil {
				f.err = &violation{what: c.show(real), file: real, why: "cannot be read as JSON, so where it sends imports " +
					"cannot be checked (esbuild reads more than JSON): make it plain JSON"}
				return f
			}
		case f.tsconfig == nil:
			if f.tsconfig, f.err = c.noteTsconfig(real, data); f.err != nil {
				return f
			}
		}
	}
	return f
}

// checkPnP refuses Yarn's PnP manifest in the directory d: esbuild looks
// for one in every directory, and follows it, to resolve a package from
// below it, to package directories that it names and that no import names.
// Refused, as the zip archives it points into are.
func (c *confiner) checkPnP(d string) error {
	for _, name := range configNames()[3:] {
		p := filepath.Join(d, name)
		if _, mode, ok := c.realPath(p); ok && !mode.IsDir() {
			return &violation{what: c.show(p), file: p, why: "is a Yarn Plug'n'Play manifest, which would resolve packages " +
				"outside the workspace rule: install packages into node_modules (Yarn: nodeLinker: node-modules)"}
		}
	}
	return nil
}

// readConfig reads, checked, the file that esbuild would read by name at p.
// real is its path after symlinks, or "" if esbuild would skip it: nothing
// there, a directory, or a symlink that leads nowhere.
func (c *confiner) readConfig(p string) (data, real string, err error) {
	real, mode, ok := c.realPath(p)
	if !ok || mode.IsDir() {
		return "", "", nil
	}
	what := c.show(p)
	if !c.inside(real) {
		return "", "", c.outside(what, p, real)
	}
	if c.inGit(real) {
		return "", "", gitViolation(what)
	}
	data, err = c.read(what, real)
	c.noteChecked(real)
	var v *violation
	if errors.As(err, &v) && v.file == "" && c.inside(p) {
		v.file = p
	}
	return data, real, err
}

// packageJSON is what the confiner keeps of a package.json: where it sends
// imports of its package, so that onResolve can check those directories.
type packageJSON struct {
	exports map[string][]string // by subpath, its targets under every condition
	mains   []string            // "main", "module", and "browser" if it is a string
	remaps  []string            // where a "browser" map may send paths, relative to the package
}

// targets returns the paths, relative to the package, where an import of its
// subpath sub ("." or "./x") may lead.
func (p *packageJSON) targets(sub string) []string {
	out := exportTargets(p.exports, sub)
	if sub == "." {
		out = append(out, p.mains...)
	}
	return out
}

// notePackage keeps what matters of the package.json in dir, with contents
// data, and notes the files its "browser" map sets to false. It returns nil
// if data is not JSON, which esbuild reports. It reads the JSON with
// jsonspans.go, which copies nothing.
func (c *confiner) notePackage(dir, data string) *packageJSON {
	data = strings.TrimPrefix(data, "\ufeff")
	raw, ok := jsonMembers(data)
	if !ok {
		if json.Valid([]byte(data)) {
			return &packageJSON{} // JSON, but no object: esbuild finds nothing in it
		}
		return nil
	}
	p := &packageJSON{exports: subpaths(raw["exports"])}
	for _, field := range []string{"main", "module", "browser"} {
		if s, ok := jsonString(raw[field]); ok && s != "" {
			p.mains = append(p.mains, s)
		}
	}
	if browser, ok := jsonMembersAll(raw["browser"]); ok {
		p.remaps = browserRemaps(browser)
		c.noteDisabled(dir, browser)
	}
	return p
}

// noteDisabled notes what the "browser" map of the package in dir (its
// members, as jsonMembersAll reads them) sets to false: a path, which
// esbuild may name with or without its extension, or a package, which it
// names by the file the package resolves to.
func (c *confiner) noteDisabled(dir string, m map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, v := range m {
		if v != "false" && !slices.Contains(leafValues(v), "false") {
			continue
		}
		if isPackagePath(key) {
			name, _ := splitPackage(key)
			c.disabledPackages[name] = true
		}
		p := filepath.Join(dir, key)
		c.disabled[p] = true
		c.disabled[strings.TrimSuffix(p, filepath.Ext(p))] = true
	}
}

// subpaths returns the "exports" map exports (JSON text; "" if there is
// none) by subpath: a string, an array or a map of conditions is what it
// exports as ".". A map that mixes subpaths and conditions, which esbuild
// refuses, counts as conditions, whose targets are all of its strings.
func subpaths(exports string) map[string][]string {
	if len(exports) == 0 {
		return nil
	}
	m, ok := jsonMembersAll(exports)
	if !ok || !subpathKeys(m) {
		m = map[string]string{".": exports}
	}
	// Each subpath's targets are read once here, not for every import.
	out := make(map[string][]string, len(m))
	for key, v := range m {
		out[key] = leaves(v)
	}
	return out
}

// exportTargets returns the targets that the "exports" map m gives the
// subpath sub, under every condition, with "*" replaced by what the key's
// "*" matched: a superset of the one esbuild picks.
func exportTargets(m map[string][]string, sub string) []string {
	var out []string
	for key, targets := range m {
		if folder, ok := strings.CutSuffix(key, "/"); ok && !strings.Contains(key, "*") {
			// A folder mapping, which esbuild still follows: "./dir/" sends
			// "./dir/x.js" to the target folder's "x.js".
			if rest, ok := strings.CutPrefix(sub, folder+"/"); ok {
				for _, t := range targets {
					out = append(out, t+rest)
				}
			}
			continue
		}
		if star, ok := matchPattern(key, sub); ok {
			for _, t := range targets {
				out = append(out, strings.ReplaceAll(t, "*", star))
			}
		}
	}
	return out
}

// subpathKeys reports whether m is an "exports" map of subpaths rather than
// of conditions: its keys start with ".".
func subpathKeys(m map[string]string) bool {
	for k := range m {
		if !strings.HasPrefix(k, ".") {
			return false
		}
	}
	return len(m) > 0
}

// browserRemaps returns where the "browser" map m (its members, as
// jsonMembersAll reads them) may send paths, relative to its package: every
// string it maps to, as a path even if it looks like a package name
// (esbuild joins a value to a directory when it remaps a main field or an
// index), from the package's directory and from the directory of the key
// it is the value of.
func browserRemaps(m map[string]string) []string {
	var out []string
	for key, v := range m {
		keyDir := filepath.Dir(filepath.FromSlash(key))
		for _, t := range leaves(v) {
			out = append(out, t)
			if keyDir != "." && !filepath.IsAbs(t) {
				out = append(out, filepath.Join(keyDir, t))
			}
		}
	}
	return out
}

// leafValues returns the texts of the elements of v, a JSON array made by
// jsonMembersAll for a repeated member; nil if v is not an array.
func leafValues(v string) []string {
	list, _ := jsonElements(v)
	return list
}

// leaves returns the strings in the JSON value v (text), however deep, in
// every member of an object, repeated ones too; not the members' names. It
// reads v once; nil if v is not valid JSON.
func leaves(v string) []string {
	r := jsonReader{s: v}
	r.space()
	out := []string{}
	if !r.strings(1, &out) || !r.end() {
		return nil
	}
	return out
}

// matchPattern matches s against key, which may hold one "*", and returns
// what the "*" matched.
func matchPattern(key, s string) (string, bool) {
	prefix, suffix, ok := strings.Cut(key, "*")
	if !ok {
		return "", key == s
	}
	if len(s) < len(prefix)+len(suffix) || !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, suffix) {
		return "", false
	}
	return s[len(prefix) : len(s)-len(suffix)], true
}

// configNames are the files esbuild reads by name above the workspace.
func configNames() []string {
	return []string{"package.json", "tsconfig.json", "jsconfig.json", ".pnp.data.json", ".pnp.cjs", ".pnp.js"}
}

// preflight checks, before esbuild starts, the files it reads by name
// whatever the entry point imports: those above the workspace, and those in
// Dir and each directory above it in the workspace, Yarn's manifest
// included. It reports every problem it finds.
func (c *confiner) preflight() error {
	errs := c.checkAbove()
	if err := c.checkChain(c.dir); err != nil {
		errs = append(errs, err)
	}
	return c.buildError(errs)
}

// checkAbove refuses the files that esbuild would read by name above the
// workspace: its resolver reads them for every file it resolves, up to /.
func (c *confiner) checkAbove() []error {
	var errs []error
	for d := c.root; filepath.Dir(d) != d; {
		d = filepath.Dir(d)
		for _, name := range configNames() {
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				errs = append(errs, &violation{what: p, why: fmt.Sprintf("is above the workspace (%s), and esbuild would read it "+
					"for every file in it: remove it, or make the workspace a directory that contains it "+
					"(set GITHUB_WORKSPACE, or outside GitHub run from inside the git repository that holds it)", c.root)})
			}
		}
	}
	return errs
}

// buildError reports the violations in errs as a *BuildError, each located
// at the file at fault when that is in the workspace. Any other error is
// returned as it is.
func (c *confiner) buildError(errs []error) error {
	var msgs []Message
	for _, err := range errs {
		var v *violation
		if !errors.As(err, &v) {
			return err
		}
		m := Message{Text: err.Error()}
		if v.file != "" {
			m.File = relative(c.dir, v.file)
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil
	}
	return &BuildError{Messages: msgs}
}
