package bundle

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// tsconfig is what the confiner keeps of a tsconfig.json or jsconfig.json:
// where its "paths" and "baseUrl" send package imports, so that onResolve
// can check those directories before esbuild looks in them. The files it
// extends were checked when it was noted, and are its bases.
type tsconfig struct {
	dir     string // its directory, which "paths" are relative to without "baseUrl"
	baseURL string // as written, "${configDir}" and all; "" if unset
	paths   map[string][]string
	bases   []*tsconfig
}

// noteTsconfig parses the tsconfig.json at real, with contents data, and
// checks every file that its "extends" chain makes esbuild read.
func (c *confiner) noteTsconfig(real, data string) (*tsconfig, error) {
	return c.noteTsconfigFrom(real, data, map[string]bool{})
}

// noteTsconfigFrom is noteTsconfig within an "extends" chain that has
// visited the files in visiting, which it does not visit again.
func (c *confiner) noteTsconfigFrom(real, data string, visiting map[string]bool) (*tsconfig, error) {
	c.mu.Lock()
	t, ok := c.tsconfigs[real]
	c.mu.Unlock()
	if ok || visiting[real] {
		return t, nil // a cycle is esbuild's to warn about
	}
	visiting[real] = true
	t, extends, err := parseTsconfig(real, data)
	if err != nil {
		return nil, &violation{what: c.show(real), file: real, why: fmt.Sprintf(
			`cannot be read as JSON with comments, so where it leads ("extends", "paths", "baseUrl") cannot be checked: %v; `+
				`make it plain JSON, with comments if you like`, err)}
	}
	for _, e := range extends {
		candidates, err := c.extendsCandidates(filepath.Dir(real), e)
		for _, p := range candidates {
			if err != nil {
				break
			}
			var data, realBase string
			if data, realBase, err = c.readConfig(p); err == nil && realBase != "" {
				// esbuild resolves the base's own "extends" from its
				// directory, with any PnP manifest from there up.
				if err = c.checkPnPUp(filepath.Dir(realBase)); err != nil {
					break
				}
				var base *tsconfig
				if base, err = c.noteTsconfigFrom(realBase, data, visiting); base != nil {
					t.bases = append(t.bases, base)
				}
			}
		}
		if err != nil {
			return nil, c.extendsError(err, real, e)
		}
	}
	c.mu.Lock()
	c.tsconfigs[real] = t
	c.mu.Unlock()
	return t, nil
}

// checkPnPUp runs checkPnP in d and each directory above it in the
// workspace.
func (c *confiner) checkPnPUp(d string) error {
	for ; c.inside(d); d = filepath.Dir(d) {
		if err := c.checkPnP(d); err != nil || d == c.root {
			return err
		}
	}
	return nil
}

// extendsError says that the violation err was found through the "extends"
// e of the tsconfig.json at from, and places it there.
func (c *confiner) extendsError(err error, from, e string) error {
	var v *violation
	if !errors.As(err, &v) {
		return err
	}
	w := *v
	w.why += fmt.Sprintf(` (%q extends %q)`, c.show(from), e)
	if w.file == "" && c.inside(from) {
		w.file = from
	}
	return &w
}

// parseTsconfig reads what matters of the tsconfig.json at path, with
// contents data: "extends", "baseUrl" and "paths". Data that is not JSON
// with comments is an error: esbuild reads more than that (JavaScript's
// string escapes and white space), so where it leads could not be checked. Of members with the same name, esbuild reads the
// first (jsonMembers), but every "paths" entry, so all of those are kept.
func parseTsconfig(path, data string) (*tsconfig, []string, error) {
	t := &tsconfig{dir: filepath.Dir(path)}
	raw, ok := jsonMembers(string(jsonc(data)))
	if !ok {
		return nil, nil, errors.New("it is not JSON with comments")
	}
	extends := leaves(raw["extends"])
	options, _ := jsonMembers(raw["compilerOptions"])
	if base, ok := jsonString(options["baseUrl"]); ok && base != "" {
		t.baseURL = base
	}
	if p := options["paths"]; p != "" {
		t.paths = map[string][]string{}
		r := jsonReader{s: p}
		r.space()
		r.object(func(key, value string) {
			list, _ := jsonElements(value)
			for _, v := range list {
				if s, ok := jsonString(v); ok {
					t.paths[key] = append(t.paths[key], s)
				}
			}
		})
	}
	return t, extends, nil
}

// extendsCandidates returns the files that esbuild may read for the
// "extends" e of a tsconfig.json in dir: for a path, it and it with ".json";
// for a package, in the node_modules of dir and of each directory above it,
// its package.json (checked here), the file that names as "tsconfig" or
// exports, and e as a directory, a file and a file with ".json".
func (c *confiner) extendsCandidates(dir, e string) ([]string, error) {
	if e == "." || e == ".." {
		e += "/tsconfig.json"
	}
	if !isPackagePath(e) {
		f := absJoin(dir, e)
		if strings.HasSuffix(f, ".json") {
			return []string{f}, nil
		}
		return []string{f, f + ".json"}, nil
	}
	// esbuild stops at the first node_modules that has one of the files.
	for cur := dir; ; cur = filepath.Dir(cur) {
		if filepath.Base(cur) != "node_modules" {
			files, err := c.packageExtends(filepath.Join(cur, "node_modules"), e)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				if _, mode, ok := c.realPath(f); ok && !mode.IsDir() {
					return files, nil
				}
			}
		}
		if filepath.Dir(cur) == cur {
			return nil, nil
		}
	}
}

// packageExtends returns the files esbuild may read for the package
// "extends" e in the node_modules directory nm.
func (c *confiner) packageExtends(nm, e string) ([]string, error) {
	j := filepath.Join(nm, e)
	out := []string{filepath.Join(j, "tsconfig.json"), j, j + ".json"}
	name, sub := splitPackage(e)
	if strings.HasPrefix(e, "@") && !strings.Contains(e, "/") {
		name = "" // esbuild finds no package name in "@scope": it reads nm's own package.json
	}
	pkg := filepath.Join(nm, name)
	data, real, err := c.readConfig(filepath.Join(pkg, "package.json"))
	if err != nil || real == "" {
		return out, err
	}
	raw, ok := jsonMembers(strings.TrimPrefix(data, "\ufeff"))
	if !ok {
		return out, nil
	}
	if field, ok := jsonString(raw["tsconfig"]); ok && field != "" {
		f := absJoin(pkg, field) // tried as a directory, a file, and with ".json"
		out = append(out, filepath.Join(f, "tsconfig.json"), f, f+".json")
	}
	for _, t := range exportTargets(subpaths(raw["exports"]), sub) {
		out = append(out, absJoin(pkg, t))
	}
	return out, nil
}

// pathsTargets returns where the "paths" and "baseUrl" of the tsconfig.json
// that applies in dir may send the package import p: every mapping that
// matches, in it and in the files it extends, from every base they name.
func (c *confiner) pathsTargets(dir, p string) []string {
	t := c.nearestTsconfig(dir)
	if t == nil {
		return nil
	}
	all := t.closure()
	var bases, out []string
	for _, u := range all {
		if u.baseURL != "" {
			base := absJoin(u.dir, configDir(u.baseURL, t.dir))
			bases = append(bases, base)
			out = append(out, absJoin(base, p))
		}
	}
	for _, u := range all {
		roots := append([]string{u.dir}, bases...)
		for key, values := range u.paths {
			star, ok := matchPattern(key, p)
			if !ok {
				continue
			}
			for _, v := range values {
				v = configDir(v, t.dir)
				for _, r := range roots {
					out = append(out, absJoin(r, strings.ReplaceAll(v, "*", star)))
				}
			}
		}
	}
	return out
}

// configDir returns the "baseUrl" or "paths" value v with a leading
// "${configDir}" made dir: esbuild puts there the directory of the
// tsconfig.json that applies, the one at the head of an "extends" chain.
func configDir(v, dir string) string {
	if rest, ok := strings.CutPrefix(v, "${configDir}"); ok {
		return dir + rest
	}
	return v
}

// nearestTsconfig returns the tsconfig.json or jsconfig.json that esbuild
// applies to files in dir: the nearest above it, none inside node_modules.
func (c *confiner) nearestTsconfig(dir string) *tsconfig {
	for d := dir; c.inside(d) && !insideNodeModules(d); d = filepath.Dir(d) {
		if t := c.dirFacts(d).tsconfig; t != nil {
			return t
		}
		if d == c.root {
			break
		}
	}
	return nil
}

// closure returns t and every tsconfig it extends, however deep.
func (t *tsconfig) closure() []*tsconfig {
	seen := map[*tsconfig]bool{}
	var out []*tsconfig
	var walk func(*tsconfig)
	walk = func(u *tsconfig) {
		if u == nil || seen[u] {
			return
		}
		seen[u] = true
		out = append(out, u)
		for _, b := range u.bases {
			walk(b)
		}
	}
	walk(t)
	return out
}

// jsonc returns the JSON with comments and trailing commas that a
// tsconfig.json may be as plain JSON, for encoding/json.
func jsonc(s string) []byte {
	s = strings.TrimPrefix(s, "\ufeff")
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		switch {
		case s[i] == '"':
			end := stringEnd(s, i)
			out = append(out, s[i:end]...)
			i = end
		case strings.HasPrefix(s[i:], "//"):
			i += lineCommentEnd(s[i:])
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 4
			}
			out = append(out, ' ')
		case s[i] == ',' && closesNext(s[i+1:]):
			i++
		case strings.HasPrefix(s[i:], "\u2028") || strings.HasPrefix(s[i:], "\u2029"):
			// Line terminators to esbuild, which encoding/json refuses.
			out = append(out, '\n')
			i += len("\u2028")
		default:
			out = append(out, s[i])
			i++
		}
	}
	return out
}

// lineCommentEnd returns the length of the "//" comment that s starts
// with: up to a line terminator, which for esbuild, as for JavaScript, is
// "\r", U+2028 or U+2029 as well as "\n". A comment read past one would
// hide from the confiner what esbuild reads on the next line.
func lineCommentEnd(s string) int {
	if i := strings.IndexFunc(s, func(r rune) bool {
		return r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029'
	}); i >= 0 {
		return i
	}
	return len(s)
}

// stringEnd returns the index just past the JSON string that starts at
// s[i].
func stringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// closesNext reports whether the next token in s, past blanks and comments,
// closes an object or array: a comma before it is a trailing comma.
func closesNext(s string) bool {
	for i := 0; i < len(s); {
		switch {
		case strings.ContainsRune(" \t\r\n", rune(s[i])):
			i++
		case strings.HasPrefix(s[i:], "\u2028") || strings.HasPrefix(s[i:], "\u2029"):
			i += len("\u2028")
		case strings.HasPrefix(s[i:], "//"):
			i += lineCommentEnd(s[i:])
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return false
			}
			i += end + 4
		default:
			return s[i] == '}' || s[i] == ']'
		}
	}
	return false
}
