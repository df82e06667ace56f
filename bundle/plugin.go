package bundle

import (
	"encoding/base64"
	"encoding/json"
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

// plugin is the esbuild plugin that holds every build to c's rule: its
// onLoad reads every module itself (confine.go says what it checks). It
// resolves nothing: esbuild's own resolution also gives each file its
// tsconfig.json settings, which a plugin's result would lose.
func (c *confiner) plugin() api.Plugin {
	return api.Plugin{Name: "workspace", Setup: func(b api.PluginBuild) {
		if c.readsSourceMaps {
			b.OnResolve(api.OnResolveOptions{Filter: "^data:"}, c.onResolveDataURL)
		}
		b.OnLoad(api.OnLoadOptions{Filter: everyPath, Namespace: "file"}, c.onLoad)
	}}
}

// everyPath is the plugin's filter: esbuild matches it against every
// module's path, and it matches them all, as ".*" does. Go's regexp matches
// "^" at once, where ".*" walks the whole path.
const everyPath = "^"

// onLoad reads the module at args.Path, after checking it as opened.
func (c *confiner) onLoad(args api.OnLoadArgs) (api.OnLoadResult, error) {
	if err := c.ctx.Err(); err != nil {
		return api.OnLoadResult{}, err
	}
	contents, err := c.load(args.Path)
	if contents == nil || err != nil {
		msgs, err := refusal(err)
		return api.OnLoadResult{Errors: msgs}, err
	}
	if c.readsSourceMaps {
		*contents = neutralMaps(*contents)
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

// load returns the contents of the module at p, checked as opened. It
// returns nil, and no error, for a file that a "browser" map may disable,
// which esbuild must load itself (mayBeDisabled).
func (c *confiner) load(p string) (*string, error) {
	f, fi, err := c.openModule(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	what := c.show(p)
	c.noteBrowser(filepath.Dir(p))
	if c.mayBeDisabled(p) {
		if err := c.count(what, int(fi.Size())); err != nil {
			return nil, err
		}
		return nil, c.checkSelfLoaded(f, fi, what)
	}
	s, err := readAll(f, fi)
	if err != nil {
		return nil, explain(what, err)
	}
	if err := c.count(what, len(s)); err != nil {
		return nil, err
	}
	c.noteChecked(p)
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

// A "browser" map in a package.json may set a file or a package to false:
// esbuild then makes the module empty without reading it. A plugin that
// returned the file's contents would put them in the bundle instead, and it
// cannot tell such a module from any other (evanw/esbuild#3629), so the
// plugin leaves to esbuild every file that a map it has seen may set to
// false: checked as opened here, but read again by path by esbuild if it
// is not disabled after all (the same file imported from elsewhere, say).
// A directory on its path swapped in between is then followed, within
// what the worker may read (the workspace, .git included); every other
// module is read through the handle that was checked.

// noteBrowser notes what the "browser" maps of the package.json files in
// dir and above it in the workspace set to false, once per directory. Each
// module is loaded after the one that imports it, whose directories were
// noted then, so the map that disables a package for its importer is known
// before the package is loaded.
func (c *confiner) noteBrowser(dir string) {
	c.browserMu.Lock()
	defer c.browserMu.Unlock()
	for d := dir; !c.browsed[d]; d = filepath.Dir(d) {
		c.browsed[d] = true
		if _, ok := c.within(d); !ok {
			return
		}
		c.noteBrowserIn(d)
	}
}

// noteBrowserIn notes what the "browser" map of the package.json in dir
// sets to false: a path, which esbuild may name with or without its
// extension or as its directory, or a package. A package.json that cannot
// be read here is left to esbuild.
func (c *confiner) noteBrowserIn(dir string) {
	f, fi, err := c.openModule(filepath.Join(dir, "package.json"))
	if err != nil {
		return
	}
	defer f.Close()
	data, err := readAll(f, fi)
	var pkg struct {
		Browser map[string]any `json:"browser"`
	}
	if err != nil || json.Unmarshal([]byte(strings.TrimPrefix(data, "\ufeff")), &pkg) != nil {
		return
	}
	for key, v := range pkg.Browser {
		if v != false {
			continue
		}
		if isPackagePath(key) {
			c.disabledPackages[packageName(key)] = true
		}
		c.disabled[filepath.Join(dir, key)] = true
	}
}

// mayBeDisabled reports whether a "browser" map that the build has noted may
// set the file at p to false.
func (c *confiner) mayBeDisabled(p string) bool {
	c.browserMu.Lock()
	defer c.browserMu.Unlock()
	noExt := strings.TrimSuffix(p, filepath.Ext(p))
	if c.disabled[p] || c.disabled[noExt] || filepath.Base(noExt) == "index" && c.disabled[filepath.Dir(p)] {
		return true
	}
	name, ok := packageOf(p)
	return ok && c.disabledPackages[name]
}

// packageName returns the name of the package that the package path p
// names: "@a/b" for "@a/b/c".
func packageName(p string) string {
	parts := strings.SplitN(p, "/", 3)
	n := 1
	if strings.HasPrefix(p, "@") && len(parts) > 1 {
		n = 2
	}
	return strings.Join(parts[:min(n, len(parts))], "/")
}

// packageOf returns the name of the package in node_modules that the file at
// path belongs to.
func packageOf(path string) (string, bool) {
	s := filepath.ToSlash(path)
	i := strings.LastIndex(s, "/node_modules/")
	if i < 0 {
		return "", false
	}
	name := packageName(s[i+len("/node_modules/"):])
	return name, name != ""
}

// sourceMapPragma starts the comment that names a module's source map, in
// JavaScript and CSS alike. A build that writes a source map reads the map
// that a module's last such comment names, itself, without asking plugins
// (evanw/esbuild's extractSourceMapFromComment): a path anywhere, a FIFO,
// /dev/zero, .git/config, whose content may then show in the map or in an
// error. The check build needs no module's own map, so it never lets
// esbuild see the pragma: neutralMaps rewrites it in every module the plugin
// loads, and the modules esbuild loads itself (data: URLs, files a
// "browser" map may disable) are refused if they hold it.
const sourceMapPragma = "sourceMappingURL="

// neutralMaps returns s with every sourceMapPragma rewritten to text of
// the same length, so that columns, and the check's own source map, stay
// right. In a string, the check's code sees the rewritten text; the
// upload is built from the module as it is.
func neutralMaps(s string) string {
	return strings.ReplaceAll(s, sourceMapPragma, "sourceMappingOFF=")
}

// onResolveDataURL refuses, in a build that reads source maps, a data: URL
// import whose content, decoded as esbuild decodes it, names a source map.
func (c *confiner) onResolveDataURL(args api.OnResolveArgs) (api.OnResolveResult, error) {
	mime, data, ok := strings.Cut(strings.TrimPrefix(args.Path, "data:"), ",")
	if !ok {
		return api.OnResolveResult{}, nil // esbuild reads nothing of it
	}
	text, err := url.PathUnescape(data)
	if strings.HasSuffix(mime, ";base64") {
		var b []byte
		b, err = base64.StdEncoding.DecodeString(data)
		text = string(b)
	}
	if err != nil || !strings.Contains(text, sourceMapPragma) {
		return api.OnResolveResult{}, nil // esbuild cannot decode it either, or it names no map
	}
	what := args.Path
	if len(what) > 60 {
		what = what[:60] + "..."
	}
	msgs, err := refusal(&violation{what: what, why: "names a source map (" + sourceMapPragma +
		"), which validation's build would read: import the module from a file instead"})
	return api.OnResolveResult{Errors: msgs}, err
}

// checkSelfLoaded checks the module f, which esbuild will read itself, in a
// build that reads source maps: it must not name one.
func (c *confiner) checkSelfLoaded(f *os.File, fi fs.FileInfo, what string) error {
	if !c.readsSourceMaps {
		return nil
	}
	s, err := readAll(f, fi)
	if err != nil {
		return explain(what, err)
	}
	if strings.Contains(s, sourceMapPragma) {
		return &violation{what: what, why: "names a source map (" + sourceMapPragma + ") and may be disabled by a " +
			`"browser" map, so esbuild reads it itself, and validation's build would read the map: remove the comment or the mapping`}
	}
	return nil
}
