package bundle

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// plugin is the esbuild plugin that holds every build to c's rule. Its
// onResolve sees every import of every kind (import, require, import(),
// "with" attributes, entry points) before esbuild's resolver does; its
// onLoad reads every module itself, so no file's content reaches the bundle
// any other way.
func (c *confiner) plugin() api.Plugin {
	return api.Plugin{Name: "workspace", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: everyPath}, c.onResolve)
		b.OnLoad(api.OnLoadOptions{Filter: everyPath, Namespace: "file"}, c.onLoad)
	}}
}

// everyPath is the plugin's filter: esbuild matches it against every import
// and every module's path, and it matches them all, as ".*" does. Go's
// regexp matches "^" at once, where ".*" walks the whole path.
const everyPath = "^"

// onResolve checks, before esbuild resolves the import, where the import can
// lead and the directories esbuild will read files in to resolve it. It
// resolves nothing itself: esbuild's own resolution also gives each file its
// tsconfig.json settings, which a plugin's result would lose.
func (c *confiner) onResolve(args api.OnResolveArgs) (api.OnResolveResult, error) {
	if err := c.ctx.Err(); err != nil {
		return api.OnResolveResult{}, err
	}
	var err error
	switch p := args.Path; {
	case strings.HasPrefix(p, "data:"):
		err = c.checkDataURL(p)
	case args.ResolveDir == "" || c.external(p):
		// esbuild reads no file for these.
	default:
		// esbuild tries an import with a "?" or "#" suffix also without it.
		for _, q := range withoutSuffix(p) {
			switch {
			case isPackagePath(q):
				err = c.checkPackageImport(args.ResolveDir, q)
			case filepath.IsAbs(q):
				// esbuild matches absolute paths, the entry point's among
				// them, against tsconfig.json "paths" too.
				err = c.checkOnce(args.ResolveDir, q, func() error { return c.checkAbsoluteImport(args.ResolveDir, q) })
			default:
				err = c.checkPathImport(args.ResolveDir, q)
			}
			if err != nil {
				break
			}
		}
	}
	msgs, err := refusal(err)
	return api.OnResolveResult{Errors: msgs}, err
}

// onLoad reads the module at args.Path, after checking it and the files
// esbuild read by name in its directories.
func (c *confiner) onLoad(args api.OnLoadArgs) (api.OnLoadResult, error) {
	if err := c.ctx.Err(); err != nil {
		return api.OnLoadResult{}, err
	}
	contents, err := c.load(args.Path)
	if err == nil && contents != nil && c.readsSourceMaps {
		*contents = neutralMaps(*contents)
	}
	if contents == nil || err != nil {
		msgs, err := refusal(err)
		return api.OnLoadResult{Errors: msgs}, err
	}
	c.progress.loadedOne()
	loader, err := loaderFor(args.With)
	msgs, err := refusal(err)
	return api.OnLoadResult{Contents: contents, Loader: loader, Errors: msgs}, err
}

// refusal turns a violation into the message esbuild places at the import;
// any other error is returned for esbuild to report there as it is.
func refusal(err error) ([]api.Message, error) {
	var v *violation
	if errors.As(err, &v) {
		return []api.Message{{Text: err.Error()}}, nil
	}
	return nil, err
}

// load returns the contents of the module at path. It returns nil, and no
// error, where esbuild must load the path itself: a path that is not there
// (esbuild reports it), a directory, and a file that a "browser" map may
// disable, which esbuild makes empty without reading, but which a plugin
// cannot tell apart (evanw/esbuild#3629); that file is checked as opened,
// then closed.
func (c *confiner) load(path string) (*string, error) {
	real, _, _ := c.realPath(path)
	if !c.inside(real) {
		return nil, c.outside(c.show(real), path, real)
	}
	if c.inGit(real) {
		return nil, gitViolation(c.show(real))
	}
	if err := c.checkChain(filepath.Dir(real)); err != nil {
		return nil, err
	}
	f, fi, err := open(real)
	if err != nil {
		return nil, missing(c.show(real), err)
	}
	defer f.Close()
	if fi.IsDir() {
		return nil, nil
	}
	if why := irregular(fi); why != "" {
		return nil, &violation{what: c.show(real), why: why}
	}
	c.noteChecked(real)
	if c.mayBeDisabled(path, real) {
		if err := c.count(c.show(real), int(fi.Size())); err != nil {
			return nil, err
		}
		return nil, c.checkSelfLoaded(f, fi, real)
	}
	s, err := readAll(f, fi)
	if err != nil {
		return nil, explain(c.show(real), err)
	}
	if err := c.count(c.show(real), len(s)); err != nil {
		return nil, err
	}
	return &s, nil
}

// loaderFor returns the loader esbuild would choose for a module imported
// with the attributes with: by its extension, unless its type says
// otherwise. esbuild applies "with" only to modules it loads itself, so the
// plugin must, with esbuild's errors. One difference remains: esbuild keeps
// a stricter JSON loader for type "json" (default export only) that plugins
// cannot name, so such imports get the ordinary JSON loader.
func loaderFor(with map[string]string) (api.Loader, error) {
	loader := api.LoaderDefault
	for _, key := range slices.Sorted(maps.Keys(with)) {
		if key != "type" {
			return loader, fmt.Errorf("importing with the %q attribute is not supported", key)
		}
		switch with[key] {
		case "json":
			loader = api.LoaderJSON
		case "text":
			loader = api.LoaderText
		case "bytes":
			loader = api.LoaderBinary
		default:
			return loader, fmt.Errorf("importing with a type attribute of %q is not supported", with[key])
		}
	}
	return loader, nil
}

// mayBeDisabled reports whether a "browser" map that the build has read may
// set the file at path (real after symlinks) to false.
func (c *confiner) mayBeDisabled(path, real string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disabled[path] || c.disabled[real] {
		return true
	}
	if len(c.disabledPackages) == 0 {
		return false
	}
	name, ok := packageOf(real)
	return ok && c.disabledPackages[name]
}

// checkImport checks target, where the import what leads (what itself for a
// path import): inside the workspace after symlinks, and the files esbuild
// reads by name in its directory, or in it and where its package.json leads
// if it is a directory. A target outside the workspace is refused if strict
// or if it exists (esbuild would read the files by name in it), else left
// (a candidate that esbuild finds nothing at).
func (c *confiner) checkImport(what, target string, strict bool) error {
	real, mode, ok := c.realPath(target)
	if !c.inside(real) {
		if strict {
			return c.outside(what, target, real)
		}
		return c.outsideTarget(what, real, ok)
	}
	if lexical := filepath.Dir(target); c.inside(lexical) {
		// esbuild walks the directories as the import names them, and again
		// once symlinks are evaluated.
		if err := c.checkChain(lexical); err != nil {
			return err
		}
	}
	if err := c.checkChain(filepath.Dir(real)); err != nil {
		return err
	}
	if !ok || !mode.IsDir() {
		return nil
	}
	if err := c.checkChain(real); err != nil {
		return err
	}
	if target != real && c.inside(target) {
		// esbuild reads the directory's files as the import names it too:
		// a tsconfig.json there counts, even if the real directory is in
		// node_modules.
		if err := c.checkChain(target); err != nil {
			return err
		}
	}
	return c.checkRedirects(what, real, ".")
}

// checkRedirects checks where the package.json in dir sends an import of
// its subpath sub ("." or "./x"): "exports", "main", "module", "browser".
// esbuild reads the files by name in those directories while it resolves,
// before any plugin sees them.
func (c *confiner) checkRedirects(what, dir, sub string) error {
	f := c.dirFacts(dir)
	if f.pkg == nil {
		return nil
	}
	for _, t := range f.pkg.targets(sub) {
		real, mode, ok := c.realPath(absJoin(dir, t))
		if !c.inside(real) {
			if err := c.outsideTarget(what, real, ok); err != nil {
				return err
			}
			continue // esbuild reads nothing there
		}
		if ok && mode.IsDir() {
			real = filepath.Join(real, "index") // esbuild looks in it too
		}
		if err := c.checkChain(filepath.Dir(real)); err != nil {
			return err
		}
	}
	return nil
}

// checkPathImport checks the import of the path p from dir (checkImport).
// The check is kept, as the modules of a directory import the same files
// many times over (lodash-es's modules import each of its files about
// four times).
func (c *confiner) checkPathImport(dir, p string) error {
	return c.checkOnce(dir, p, func() error { return c.checkImport(p, absJoin(dir, p), true) })
}

// checkAbsoluteImport checks the import of the absolute path p from dir:
// the path, and where tsconfig.json "paths" may send it.
func (c *confiner) checkAbsoluteImport(dir, p string) error {
	if err := c.checkImport(p, p, true); err != nil {
		return err
	}
	for _, t := range c.pathsTargets(dir, p) {
		if err := c.checkImport(p, t, false); err != nil {
			return err
		}
	}
	return nil
}

// checkPackageImport checks what an import of the package path p from dir
// can lead to: the node_modules/<name> directories esbuild tries, in dir and
// each directory above it in the workspace, and the targets of tsconfig.json
// "paths" and "baseUrl". The check is kept, as many files import the same
// packages.
func (c *confiner) checkPackageImport(dir, p string) error {
	return c.checkOnce(dir, p, func() error { return c.checkPackageImportUncached(dir, p) })
}

// checkOnce returns the check of the import p from dir: check's result,
// kept for the next import of p from dir. The result depends on nothing
// else (what checkImport reads is kept too), and an error names p.
func (c *confiner) checkOnce(dir, p string, check func() error) error {
	key := dir + "\x00" + p
	c.mu.Lock()
	err, ok := c.imports[key]
	c.mu.Unlock()
	if ok {
		return err
	}
	err = check()
	c.mu.Lock()
	c.imports[key] = err
	c.mu.Unlock()
	return err
}

// checkPackageImportUncached is checkPackageImport without the cache.
func (c *confiner) checkPackageImportUncached(dir, p string) error {
	name, sub := splitPackage(p)
	found := false
	for d := dir; c.inside(d); d = filepath.Dir(d) {
		if filepath.Base(d) != "node_modules" {
			here, err := c.checkPackageIn(filepath.Join(d, "node_modules"), name, sub, p)
			if err != nil {
				return err
			}
			found = found || here
		}
		if d == c.root {
			break
		}
	}
	// Where the workspace has no such package, esbuild looks in the
	// node_modules above it too.
	for d := filepath.Dir(c.root); !found; d = filepath.Dir(d) {
		pkg := filepath.Join(d, "node_modules", name)
		if real, _, ok := c.realPath(pkg); ok {
			return c.outside(p, pkg, real)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, t := range c.pathsTargets(dir, p) {
		if err := c.checkImport(p, t, false); err != nil {
			return err
		}
	}
	return nil
}

// checkPackageIn checks the package name in the node_modules directory nm,
// if it is there (found), for the import p of its subpath sub. A package that leads
// outside the workspace is refused even if an earlier one would serve: the
// layout is then not one the rule can vouch for.
func (c *confiner) checkPackageIn(nm, name, sub, p string) (found bool, err error) {
	pkg := filepath.Join(nm, name)
	real, _, ok := c.realPath(pkg)
	if !ok {
		return false, nil
	}
	if err := c.checkImport(p, pkg, true); err != nil {
		return true, err
	}
	if err := c.checkImport(p, absJoin(nm, p), true); err != nil {
		return true, err
	}
	if sub == "." {
		return true, nil // checkImport followed the package's redirects
	}
	return true, c.checkRedirects(p, real, sub)
}

// withoutSuffix returns the import path p, and, if it has a query or a
// fragment ("./x?raw", "pkg#a"), p without it, which esbuild tries when p
// is not found.
func withoutSuffix(p string) []string {
	if i := strings.IndexAny(p, "?#"); i > 0 {
		return []string{p, p[:i]}
	}
	return []string{p}
}

// isPackagePath reports whether esbuild resolves the import path p as a
// package (through node_modules, "paths", "browser" or "imports") rather than
// as a path (resolver.IsPackagePath).
func isPackagePath(p string) bool {
	return !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "./") &&
		!strings.HasPrefix(p, "../") && p != "." && p != ".."
}

// external reports whether esbuild reads no file for the import path p: the
// platform's xstate, which the alias makes the external npm:xstate (unless
// this build bundles it), and the URLs and data URLs esbuild keeps as they
// are or decodes.
func (c *confiner) external(p string) bool {
	return isXstate(p) && !c.bundlesPlatform || isURL(p)
}

// absJoin is p if it is absolute, else p in dir; clean either way.
func absJoin(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// splitPackage splits the package path p into the package's name and the
// subpath esbuild looks up in its "exports": "@a/b/c" is "@a/b" and "./c".
func splitPackage(p string) (name, sub string) {
	parts := strings.SplitN(p, "/", 3)
	n := 1
	if strings.HasPrefix(p, "@") && len(parts) > 1 {
		n = 2
	}
	if len(parts) <= n {
		return p, "."
	}
	name = strings.Join(parts[:n], "/")
	return name, "." + p[len(name):]
}

// packageOf returns the name of the package in node_modules that the file at
// path belongs to.
func packageOf(path string) (string, bool) {
	s := filepath.ToSlash(path)
	i := strings.LastIndex(s, "/node_modules/")
	if i < 0 {
		return "", false
	}
	name, _ := splitPackage(s[i+len("/node_modules/"):])
	return name, name != ""
}

// sourceMapPragma starts the comment that names a module's source map, in
// JavaScript and CSS alike. A build that writes a source map reads the map
// that a module's last such comment names, itself, without asking plugins
// (evanw/esbuild's extractSourceMapFromComment): a path anywhere, a FIFO,
// /dev/zero, whose content may then show in the map or in an error. The
// check build needs no module's own map, so it never lets esbuild see the
// pragma: neutralMaps rewrites it in every module the plugin loads, and
// the modules esbuild loads itself (data: URLs, files a "browser" map may
// disable) are refused if they hold it.
const sourceMapPragma = "sourceMappingURL="

// neutralMaps returns s with every sourceMapPragma rewritten to text of
// the same length, so that columns, and the check's own source map, stay
// right. In a string, the check's code sees the rewritten text; the
// upload is built from the module as it is.
func neutralMaps(s string) string {
	if !strings.Contains(s, sourceMapPragma) {
		return s
	}
	return strings.ReplaceAll(s, sourceMapPragma, "sourceMappingOFF=")
}

// checkDataURL refuses, in a build that reads source maps, a data: URL
// import whose content, decoded as esbuild decodes it, names a source map.
func (c *confiner) checkDataURL(p string) error {
	if !c.readsSourceMaps {
		return nil
	}
	mime, data, ok := strings.Cut(strings.TrimPrefix(p, "data:"), ",")
	if !ok {
		return nil // esbuild reads nothing of it
	}
	text, err := url.PathUnescape(data)
	if strings.HasSuffix(mime, ";base64") {
		var b []byte
		b, err = base64.StdEncoding.DecodeString(data)
		text = string(b)
	}
	if err != nil || !strings.Contains(text, sourceMapPragma) {
		return nil // esbuild cannot decode it either, or it names no map
	}
	return &violation{what: shorten(p), why: "names a source map (" + sourceMapPragma + "), which validation's build would read: " +
		"import the module from a file instead"}
}

// checkSelfLoaded checks the module f, at real, which esbuild will read
// itself, in a build that reads source maps: it must not name one.
func (c *confiner) checkSelfLoaded(f *os.File, fi fs.FileInfo, real string) error {
	if !c.readsSourceMaps {
		return nil
	}
	s, err := readAll(f, fi)
	if err != nil {
		return explain(c.show(real), err)
	}
	if strings.Contains(s, sourceMapPragma) {
		return &violation{what: c.show(real), why: "names a source map (" + sourceMapPragma + ") and may be disabled by a " +
			`"browser" map, so esbuild reads it itself, and validation's build would read the map: remove the comment or the mapping`}
	}
	return nil
}

// shorten cuts a long import path for a message.
func shorten(p string) string {
	if len(p) > 60 {
		return p[:60] + "..."
	}
	return p
}
