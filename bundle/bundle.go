// Package bundle turns a TypeScript or JavaScript entry point into the one
// self-contained ES module that StateBacked runs, and checks it against the
// service's rules before anything is sent.
//
// Build is a pure function of the files on disk to bytes: it prints nothing
// and touches no network. It bundles in memory with esbuild, using the same
// options as the official StateBacked CLI, so that an upload made here
// behaves exactly like one made with that CLI.
package bundle

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// The service's limits on uploaded code (API.md, "What the code must be").
const (
	MaxGzippedBytes = 1_000_000
	MaxRawBytes     = 10_000_000
)

// MigrationExports are the exports every machine version migration must have.
var MigrationExports = []string{"upgradeState", "upgradeContext"}

// VersionExports are the exports every machine version must have: the
// machine as the default export, and its authorizers.
var VersionExports = []string{"default", "allowRead", "allowWrite"}

// Options says what to bundle.
type Options struct {
	// Dir is the absolute directory that relative paths, node_modules and
	// tsconfig.json resolve from, as for any bundler run there.
	Dir string
	// Entry is the entry point's path relative to Dir.
	Entry string
	// Exports lists the exports the bundle must have.
	Exports []string
}

// Bundle is the result of a successful Build.
type Bundle struct {
	// Code is the minified ES module.
	Code []byte
	// Gzipped is Code compressed with Gzip. It is always made, because the
	// service's size limit applies to the gzipped form.
	Gzipped []byte
	// Exports are the names the module exports, sorted.
	Exports []string
	// Warnings are esbuild's warnings; they did not stop the build.
	Warnings []Message
}

// Message is one esbuild diagnostic, located in the source.
type Message struct {
	File   string // relative to Options.Dir, slash-separated; "" if not in a file
	Line   int    // 1-based; 0 if unknown
	Column int    // 1-based; 0 if unknown
	Text   string
}

// BuildError reports that esbuild could not bundle the entry point.
type BuildError struct {
	Messages []Message
}

func (e *BuildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bundle failed with %d error(s)", len(e.Messages))
	for _, m := range e.Messages {
		b.WriteString("\n  ")
		if m.File != "" {
			fmt.Fprintf(&b, "%s:%d:%d: ", m.File, m.Line, m.Column)
		}
		b.WriteString(m.Text)
	}
	return b.String()
}

// ExportsError reports exports the bundle must have but does not.
type ExportsError struct {
	Entry   string
	Missing []string
	Have    []string
}

func (e *ExportsError) Error() string {
	have := "nothing"
	if len(e.Have) > 0 {
		have = strings.Join(e.Have, ", ")
	}
	add := fmt.Sprintf("`export function %s(...)`", e.Missing[0])
	if e.Missing[0] == "default" {
		add = "`export default createMachine(...)`"
	}
	return fmt.Sprintf("%s does not export %s (it exports %s): add %s",
		e.Entry, strings.Join(e.Missing, " and "), have, add)
}

// SizeError reports a bundle over the service's limits.
type SizeError struct {
	Raw, Gzipped int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("bundle too large: %d bytes minified (limit %d) and %d bytes gzipped (limit %d); "+
		"remove large dependencies or split the code", e.Raw, MaxRawBytes, e.Gzipped, MaxGzippedBytes)
}

// options are the official CLI's esbuild options (API.md), plus the in-memory
// output and the metafile that lists the exports.
func options(o Options) api.BuildOptions {
	return api.BuildOptions{
		EntryPoints:   []string{filepath.Join(o.Dir, o.Entry)},
		AbsWorkingDir: o.Dir,
		Outfile:       outfile,
		Write:         false,
		Metafile:      true,
		LogLevel:      api.LogLevelSilent,

		Bundle:            true,
		Platform:          api.PlatformBrowser,
		Format:            api.FormatESModule,
		Target:            api.ES2022,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		KeepNames:         true,
		LegalComments:     api.LegalCommentsNone,
		Define:            map[string]string{"process.env.NODE_ENV": `"production"`},
		Drop:              api.DropDebugger,
		// The platform provides xstate; the upload must import it as npm:xstate.
		Alias:    map[string]string{"xstate": "npm:xstate"},
		External: []string{"npm:xstate", "npm:xstate/*"},
	}
}

const outfile = "bundle.js"

// Build bundles o.Entry, checks its exports and size, and gzips it.
func Build(o Options) (*Bundle, error) {
	if !filepath.IsAbs(o.Dir) {
		return nil, fmt.Errorf("bundle: Dir %q is not absolute", o.Dir)
	}
	res := api.Build(options(o))
	if len(res.Errors) > 0 {
		return nil, &BuildError{Messages: messages(o.Dir, res.Errors)}
	}
	if len(res.OutputFiles) != 1 {
		return nil, fmt.Errorf("bundle: esbuild wrote %d files, want 1", len(res.OutputFiles))
	}
	exports, err := metafileExports(res.Metafile)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, name := range o.Exports {
		if !slices.Contains(exports, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, &ExportsError{Entry: o.Entry, Missing: missing, Have: exports}
	}
	code := res.OutputFiles[0].Contents
	gz, err := Gzip(code)
	if err != nil {
		return nil, err
	}
	if len(code) > MaxRawBytes || len(gz) > MaxGzippedBytes {
		return nil, &SizeError{Raw: len(code), Gzipped: len(gz)}
	}
	return &Bundle{Code: code, Gzipped: gz, Exports: exports, Warnings: messages(o.Dir, res.Warnings)}, nil
}

func messages(dir string, in []api.Message) []Message {
	out := make([]Message, 0, len(in))
	for _, m := range in {
		msg := Message{Text: m.Text}
		if l := m.Location; l != nil {
			msg.File = relative(dir, l.File)
			msg.Line = l.Line
			msg.Column = l.Column + 1
		}
		out = append(out, msg)
	}
	return out
}

// relative makes esbuild's location (relative to the working directory, or
// absolute for files outside it) relative to dir.
func relative(dir, file string) string {
	if filepath.IsAbs(file) {
		if rel, err := filepath.Rel(dir, file); err == nil {
			file = rel
		}
	}
	return filepath.ToSlash(file)
}

// metafileExports returns the exports of outfile that esbuild's metafile
// lists. The metafile first describes every input, which is nearly all of its
// bytes (520 KB for an app of 1,041 modules); only "outputs" is needed, so the
// inputs are skipped unread when the metafile starts with them.
func metafileExports(metafile string) ([]string, error) {
	type outputs struct {
		Outputs map[string]struct {
			Exports []string `json:"exports"`
		} `json:"outputs"`
	}
	var meta outputs
	if err := json.Unmarshal([]byte(withoutInputs(metafile)), &meta); err != nil {
		meta = outputs{}
		if err := json.Unmarshal([]byte(metafile), &meta); err != nil {
			return nil, fmt.Errorf("bundle: read esbuild metafile: %w", err)
		}
	}
	out, ok := meta.Outputs[outfile]
	if !ok {
		return nil, fmt.Errorf("bundle: esbuild metafile has no entry for %s", outfile)
	}
	exports := slices.Clone(out.Exports)
	slices.Sort(exports)
	return exports, nil
}

// withoutInputs returns the metafile JSON object without its first member if
// that is "inputs", or the metafile unchanged if it does not start that way.
func withoutInputs(metafile string) string {
	const space = " \t\r\n"
	rest, ok := strings.CutPrefix(strings.TrimLeft(metafile, space), "{")
	if ok {
		rest, ok = strings.CutPrefix(strings.TrimLeft(rest, space), `"inputs"`)
	}
	if ok {
		rest, ok = strings.CutPrefix(strings.TrimLeft(rest, space), ":")
	}
	if !ok {
		return metafile
	}
	rest = strings.TrimLeft(rest, space)
	n := skipComposite(rest)
	if n < 0 {
		return metafile
	}
	if rest, ok = strings.CutPrefix(strings.TrimLeft(rest[n:], space), ","); !ok {
		return metafile
	}
	return "{" + rest
}

// skipComposite returns the length of the JSON object or array that s starts
// with, or -1 if s does not start with a complete one.
func skipComposite(s string) int {
	if s == "" || (s[0] != '{' && s[0] != '[') {
		return -1
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}
