package bundle

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// jsonSeeds are JSON texts that exercise what encoding/json accepts and
// refuses, as FuzzJSONSpans's seeds.
var jsonSeeds = []string{
	`{}`, `[]`, `""`, `null`, ` null `, `nul`, `{"a":1}`, ` { "a" : "x" , "b" : [1, 2] } `,
	`{"a":1,"a":2}`, `{"a":1,}`, `[1,]`, `{"a"}`, `{"a":}`, `{a:1}`, `{'a':1}`, `{"a":1}x`, `{"a":1}{}`,
	`"\u00e9\n\t\"\\\/\b\f\r"`, `"\ud83d\ude00"`, `"\ud800"`, `"\ud800x"`, `"\ud800\u0041"`, `"\udc00\ud800"`,
	`"\ud800\u12"`, `"\u12"`, `"\x41"`, `"\'"`, "\"\x01\"", "\"\x7f\"", "\"\xff\"", "\"caf\xc3\xa9\"", "\"\xc3\"",
	`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `-1.5e-3`, `+1`, `0x10`,
	`true`, `false`, `tru`, `True`, `[true,false,null]`, "\ufeff{}", "{}\n", "\t[\r\n]",
	`{"exports":{".":{"import":"./a.js","require":"./b.cjs"},"./x/*":"./dist/*.js"},"main":"m.js","browser":{"./n.js":false}}`,
	`{"exports":"./index.js","module":null,"main":5}`, `{"exports":["./a.js",{"default":"./b.js"}]}`,
	`{"exports":{"a":"./x.js",".":"./y.js"}}`, `{"exports":{"\u002e":"./dot.js"}}`, `{"browser":{"fs":false,"./x":"./y"}}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	`{"a":` + strings.Repeat(`{"a":`, 9998) + `1` + strings.Repeat("}", 9999),
	`{"a":` + strings.Repeat(`{"a":`, 9999) + `1` + strings.Repeat("}", 10000),
}

// FuzzJSONSpans checks jsonMembers, jsonElements and jsonString against
// encoding/json: on the seeds in every test run, on anything when fuzzed.
func FuzzJSONSpans(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Fuzz(checkJSONSpans)
}

// checkJSONSpans checks that each reader agrees with encoding/json on s:
// the same validity, and the same members, elements or string.
func checkJSONSpans(t *testing.T, s string) {
	name := s
	if len(name) > 60 {
		name = name[:60] + "..."
	}

	wantMembers, errMembers := firstMembers(s)
	members, ok := jsonMembers(s)
	if ok != (errMembers == nil) {
		t.Fatalf("jsonMembers(%q) ok = %v, encoding/json: %v", name, ok, errMembers)
	}
	if ok {
		got := map[string]json.RawMessage{}
		for k, v := range members {
			got[asEncodingJSON(k)] = json.RawMessage(v)
		}
		if wantMembers == nil {
			got = nil
		}
		if (wantMembers == nil) != (got == nil) || !maps.EqualFunc(wantMembers, got, sameRaw) {
			t.Errorf("jsonMembers(%q) (-encoding/json +got):\n%s", name, cmp.Diff(wantMembers, got))
		}
	}

	var wantElements []json.RawMessage
	errElements := json.Unmarshal([]byte(s), &wantElements)
	elements, ok := jsonElements(s)
	if ok != (errElements == nil) {
		t.Fatalf("jsonElements(%q) ok = %v, encoding/json: %v", name, ok, errElements)
	}
	if ok {
		var got []json.RawMessage
		for _, e := range elements {
			got = append(got, json.RawMessage(e))
		}
		if wantElements != nil && got == nil {
			got = []json.RawMessage{}
		}
		if (wantElements == nil) != (got == nil) || !slices.EqualFunc(wantElements, got, sameRaw) {
			t.Errorf("jsonElements(%q) (-encoding/json +got):\n%s", name, cmp.Diff(wantElements, got))
		}
	}

	var wantString string
	errString := json.Unmarshal([]byte(s), &wantString)
	str, ok := jsonString(s)
	if ok != (errString == nil) {
		t.Fatalf("jsonString(%q) ok = %v, encoding/json: %v", name, ok, errString)
	}
	if ok && asEncodingJSON(str) != wantString {
		t.Errorf("jsonString(%q) = %q, encoding/json: %q", name, str, wantString)
	}
}

// sameRaw compares JSON texts as bytes: cmp.Diff, byte by byte through
// reflection, is kept for the message (it took seconds on the deep seeds
// under -race).
func sameRaw(a, b json.RawMessage) bool { return bytes.Equal(a, b) }

// TestPackageTargets checks that what the confiner keeps of real and made-up
// package.json files is what it kept when it read them with encoding/json
// (referencePackage): the same targets for every subpath, the same mains,
// the same files set to false.
func TestPackageTargets(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"conditions and patterns": `{"exports":{".":{"import":{"types":"./a.d.ts","default":"./a.js"},"require":"./b.cjs"},` +
			`"./x/*":"./dist/x/*.js","./y/*.js":["./y/*.js",null,{"node":"./n/*.js"}],"./z":null},"main":"m.js","module":"e.js"}`,
		"string exports":     `{"exports":"./index.js","browser":"./browser.js"}`,
		"array exports":      `{"exports":["./a.js",{"default":"./b.js"}],"main":""}`,
		"conditions only":    `{"exports":{"import":"./i.js","default":"./d.js"},"main":5,"module":null}`,
		"browser map":        `{"main":"./m.js","browser":{"./m.js":"./b.js","fs":false,"./lib/x.js":false,"@scope/pkg":false}}`,
		"escaped keys":       `{"exports":{"\u002e/a":"./\u0061.js"},"ma\u0069n":"./main.js"}`,
		"duplicate keys":     `{"main":"first.js","main":"second.js","exports":{".":"./one.js",".":"./two.js"}}`,
		"empty exports":      `{"exports":{}}`,
		"not an object":      `["exports"]`,
		"invalid":            `{"main":"m.js",}`,
		"null":               `null`,
		"non-UTF-8 in a key": "{\"exports\":{\"./\xff\":\"./x.js\"}}",
	}
	// Real ones, as the apps' packages ship them, when compare.sh has
	// installed them (BENCH_NODE_MODULES).
	if nm := os.Getenv("BENCH_NODE_MODULES"); nm != "" {
		files, _ := filepath.Glob(filepath.Join(nm, "*", "package.json"))
		scoped, _ := filepath.Glob(filepath.Join(nm, "@*", "*", "package.json"))
		for _, f := range append(files, scoped...) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cases[f] = string(data)
		}
	}
	for name, data := range cases {
		checkPackageTargets(t, name, data)
	}
}

// FuzzPackageTargets is TestPackageTargets on any package.json.
func FuzzPackageTargets(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) { checkPackageTargets(t, "fuzz", data) })
}

func checkPackageTargets(t *testing.T, name, data string) {
	t.Helper()
	ref := referencePackage(data)
	c := &confiner{disabled: map[string]bool{}, disabledPackages: map[string]bool{}}
	p := c.notePackage("/pkg", data)
	if (p == nil) != (ref == nil) {
		t.Fatalf("%s: notePackage = %v, reference %v", name, p, ref)
	}
	if p == nil {
		return
	}
	if ref.mixed {
		return // esbuild refuses such an "exports"; the reference picked either reading at random
	}
	subs := []string{".", "./x/y", "./y/a.js", "./z", "./a", "./\ufffd"}
	for k := range ref.exports {
		subs = append(subs, k)
	}
	for _, sub := range subs {
		got, want := p.targets(sub), ref.targets(sub)
		for i := range got {
			got[i] = asEncodingJSON(got[i])
		}
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: targets(%q) (-reference +got):\n%s", name, sub, diff)
		}
	}
	slices.Sort(p.remaps)
	slices.Sort(ref.remaps)
	if diff := cmp.Diff(ref.remaps, p.remaps); diff != "" {
		t.Errorf("%s: browser map targets (-reference +got):\n%s", name, diff)
	}
	if diff := cmp.Diff(ref.disabled, c.disabled); diff != "" {
		t.Errorf("%s: disabled files (-reference +got):\n%s", name, diff)
	}
	if diff := cmp.Diff(ref.disabledPackages, c.disabledPackages); diff != "" {
		t.Errorf("%s: disabled packages (-reference +got):\n%s", name, diff)
	}
}

// refPackage is what notePackage kept when it read package.json with
// encoding/json, before jsonspans.go, but with the first of members that
// share a name, as esbuild reads them.
type refPackage struct {
	exports          map[string][]json.RawMessage // every value of a repeated key
	mains            []string
	remaps           []string // what a "browser" map sends paths to
	mixed            bool     // "exports" mixes subpaths and conditions
	disabled         map[string]bool
	disabledPackages map[string]bool
}

func referencePackage(data string) *refPackage {
	data = strings.TrimPrefix(data, "\ufeff")
	p := &refPackage{disabled: map[string]bool{}, disabledPackages: map[string]bool{}}
	raw, err := firstMembers(data)
	if err != nil {
		if json.Valid([]byte(data)) {
			return p // JSON, but no object
		}
		return nil
	}
	if exports := raw["exports"]; len(exports) > 0 {
		dots := 0
		m, err := allMembers(string(exports))
		if err == nil {
			for k := range m {
				if strings.HasPrefix(k, ".") {
					dots++
				}
			}
		}
		p.mixed = dots > 0 && dots < len(m)
		if m == nil || dots == 0 {
			m = map[string][]json.RawMessage{".": {exports}}
		}
		p.exports = m
	}
	for _, field := range []string{"main", "module", "browser"} {
		var s string
		if json.Unmarshal(raw[field], &s) == nil && s != "" {
			p.mains = append(p.mains, s)
		}
	}
	if browser, err := allMembers(string(raw["browser"])); err == nil {
		for key, values := range browser {
			for _, v := range values {
				for _, t := range referenceLeaves(v) {
					p.remaps = append(p.remaps, t)
					if dir := path.Dir(key); dir != "." && !path.IsAbs(t) {
						p.remaps = append(p.remaps, path.Join(dir, t))
					}
				}
			}
		}
		for key, values := range browser {
			if !slices.ContainsFunc(values, func(v json.RawMessage) bool { return strings.TrimSpace(string(v)) == "false" }) {
				continue
			}
			if isPackagePath(key) {
				name, _ := splitPackage(key)
				p.disabledPackages[name] = true
			}
			path := filepath.Join("/pkg", key)
			p.disabled[path] = true
			p.disabled[strings.TrimSuffix(path, filepath.Ext(path))] = true
		}
	}
	return p
}

func (p *refPackage) targets(sub string) []string {
	var out []string
	for key, values := range p.exports {
		if folder, ok := strings.CutSuffix(key, "/"); ok && !strings.Contains(key, "*") {
			if rest, ok := strings.CutPrefix(sub, folder+"/"); ok {
				for _, v := range values {
					for _, t := range referenceLeaves(v) {
						out = append(out, t+rest)
					}
				}
			}
			continue
		}
		if star, ok := matchPattern(key, sub); ok {
			for _, v := range values {
				for _, t := range referenceLeaves(v) {
					out = append(out, strings.ReplaceAll(t, "*", star))
				}
			}
		}
	}
	if sub == "." {
		out = append(out, p.mains...)
	}
	return out
}

func referenceLeaves(v json.RawMessage) []string {
	if strings.TrimSpace(string(v)) == "null" {
		return nil // no target
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return []string{s}
	}
	var list []json.RawMessage
	if json.Unmarshal(v, &list) != nil {
		m, err := allMembers(string(v))
		if err != nil {
			return nil
		}
		for _, values := range m {
			list = append(list, values...)
		}
	}
	var out []string
	for _, x := range list {
		out = append(out, referenceLeaves(x)...)
	}
	return out
}

// BenchmarkPackageJSON measures notePackage on a package.json of
// BENCH_PACKAGE_JSON (date-fns's is 199 KB), with encoding/json as it was
// (reference) and with jsonspans.go.
func BenchmarkPackageJSON(b *testing.B) {
	path := os.Getenv("BENCH_PACKAGE_JSON")
	if path == "" {
		b.Skip("set BENCH_PACKAGE_JSON to a package.json, such as date-fns's")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			referencePackage(string(data)).targets(".")
		}
	})
	b.Run("jsonspans", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			c := &confiner{disabled: map[string]bool{}, disabledPackages: map[string]bool{}}
			c.notePackage("/pkg", string(data)).targets(".")
		}
	})
}

// firstMembers decodes the JSON object s with encoding/json, as
// json.Unmarshal into a map[string]json.RawMessage does, but keeps the first
// of members with the same name, as esbuild does.
func firstMembers(s string) (map[string]json.RawMessage, error) {
	all, err := allMembers(s)
	if err != nil || all == nil {
		return nil, err
	}
	first := map[string]json.RawMessage{}
	for k, values := range all {
		first[k] = values[0]
	}
	return first, nil
}

// allMembers decodes the JSON object s with encoding/json, keeping every
// value of a repeated name, in order; null is nil.
func allMembers(s string) (map[string][]json.RawMessage, error) {
	var last map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &last); err != nil || last == nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(s))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	all := map[string][]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		all[tok.(string)] = append(all[tok.(string)], v)
	}
	return all, nil
}

// asEncodingJSON is s as encoding/json decodes the same text: the one
// difference is a lone surrogate escape, which jsonspans.go keeps as its
// three WTF-8 bytes, as esbuild does, and encoding/json makes U+FFFD.
func asEncodingJSON(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i+2 < len(s) && s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF {
			b.WriteRune(utf8.RuneError)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
