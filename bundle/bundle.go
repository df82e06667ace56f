// Package bundle turns a TypeScript or JavaScript entry point into the one
// self-contained ES module that StateBacked runs, and checks it against the
// service's rules before anything is sent.
//
// Build is a pure function of the files on disk to bytes: it prints nothing
// and touches no network. It bundles in memory with esbuild, using the same
// options as the official StateBacked CLI, so that an upload made here
// behaves exactly like one made with that CLI.
//
// The code it bundles is hostile, so the caller runs it in a confined
// worker (internal/worker: no secrets in its environment, Landlock on
// Linux, a deadline and a memory limit). Build itself holds every module
// esbuild loads to the workspace rule: a regular file of at most
// 10,000,000 bytes, opened beneath Options.Root and outside .git, as
// confine.go says, with what each layer covers.
package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// The service's limits on uploaded code (docs/api.md, "The code").
const (
	MaxGzippedBytes = 1_000_000
	MaxRawBytes     = 10_000_000
)

// Kind is what a bundle is: what it must export, and what the service does
// with it.
type Kind int

// The kinds of code the service takes.
const (
	// Migration moves an instance's state from one machine version to the
	// next.
	Migration Kind = iota + 1
	// MachineVersion is a machine: its definition and its authorizers.
	MachineVersion
)

// Exports are the exports every bundle of kind k must have: for a migration
// its two functions; for a machine version the machine as the default
// export, and its authorizers. The slice is new on each call.
func (k Kind) Exports() []string {
	switch k {
	case Migration:
		return []string{"upgradeState", "upgradeContext"}
	case MachineVersion:
		return []string{"default", "allowRead", "allowWrite"}
	}
	return nil
}

func (k Kind) String() string {
	switch k {
	case Migration:
		return "migration"
	case MachineVersion:
		return "machine version"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Limits are the largest bundle Build accepts, minified and gzipped.
type Limits struct {
	Raw, Gzipped int
}

// OrService returns l, or the service's limits if l is zero.
func (l Limits) OrService() Limits {
	if l == (Limits{}) {
		return Limits{Raw: MaxRawBytes, Gzipped: MaxGzippedBytes}
	}
	return l
}

// Options says what to bundle.
type Options struct {
	// Dir is the absolute directory that relative paths, node_modules and
	// tsconfig.json resolve from, as for any bundler run there.
	Dir string
	// Entry is the entry point's path relative to Dir.
	Entry string
	// Kind says which exports the bundle must have; 0 checks none.
	Kind Kind
	// Root is the absolute directory that every module the build loads
	// must be in, after symlinks: the workspace. "" means Dir.
	Root string
	// Limits are the largest bundle accepted; zero means the service's,
	// MaxRawBytes and MaxGzippedBytes.
	Limits Limits
	// Progress, if set, is told how many modules esbuild has loaded so far,
	// as a build of thousands can take seconds. It is called from one
	// goroutine at a time (never concurrently, so it needs no locking),
	// at most once every ProgressInterval while esbuild runs and the count
	// has changed since the last call, and, when esbuild has finished,
	// once more with the total if that is new; never after Build or
	// BuildCheck returns. It should return quickly: the next call waits
	// for it. Build and BuildCheck each run esbuild once, and count from
	// zero.
	Progress func(loaded int)
}

// Bundle is the result of a successful Build.
type Bundle struct {
	// Code is the minified ES module.
	Code []byte
	// Gzipped is Code compressed with Gzip, or as small as it can be if
	// that is over Limits.Gzipped. It is always made, because the service's
	// size limit applies to the gzipped form.
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
	// Unresolved is the import path that esbuild could not resolve, as
	// the source writes it ("crypto", "./util", "xstate/guards"), if that is
	// what the message says; else "". An entry point that is not there
	// gives its absolute path, in a message with no File. KindOfImport says
	// what it names.
	Unresolved string
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
	// CommonJS is set if the entry point is a CommonJS module (it assigns
	// module.exports or exports.name, as a .cjs or .cts file may): esbuild
	// makes what it exports the default export of the bundle, an ES
	// module, so it can have no named exports.
	CommonJS bool
}

func (e *ExportsError) Error() string {
	add := fmt.Sprintf("`export function %s(...)`", e.Missing[0])
	if e.Missing[0] == "default" {
		add = "`export default createMachine(...)`"
	}
	if e.CommonJS {
		return fmt.Sprintf("%s is a CommonJS module (it assigns module.exports or exports.name): the bundle, an ES module, "+
			"can only have its exports as a whole, as its default export, so it does not export %s; "+
			"write %s as an ES module, with %s", e.Entry, strings.Join(e.Missing, " and "), e.Entry, add)
	}
	have := "nothing"
	if len(e.Have) > 0 {
		have = strings.Join(e.Have, ", ")
	}
	return fmt.Sprintf("%s does not export %s (it exports %s): add %s",
		e.Entry, strings.Join(e.Missing, " and "), have, add)
}

// SizeError reports a bundle over the limits.
type SizeError struct {
	Raw, Gzipped int
	Limits       Limits
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("bundle too large: %d bytes minified (limit %d) and %d bytes gzipped (limit %d); "+
		"remove large dependencies or split the code", e.Raw, e.Limits.Raw, e.Gzipped, e.Limits.Gzipped)
}

// options are the official CLI's esbuild options (docs/api.md), plus the
// in-memory output.
func options(o Options) api.BuildOptions {
	return api.BuildOptions{
		EntryPoints:   []string{filepath.Join(o.Dir, o.Entry)},
		AbsWorkingDir: o.Dir,
		Outfile:       outfile,
		Write:         false,
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
		Alias:    map[string]string{platformPackage: "npm:" + platformPackage},
		External: []string{"npm:" + platformPackage, "npm:" + platformPackage + "/*"},
	}
}

const outfile = "bundle.js"

// platformPackage is the package StateBacked provides at run time: imports of
// it stay imports, and nothing of it is read or bundled.
const platformPackage = "xstate"

// ambiguousReexport is the ID of esbuild's message that it left out an
// export that two "export *" both give. esbuild logs it only when debugging,
// and its metafile still lists the name, so Build asks for it as a warning
// to know what the bundle really exports.
const ambiguousReexport = "ambiguous-reexport"

// Build bundles o.Entry, checks its exports and size, and gzips it. It
// stops when ctx ends, returning ctx's error.
//
// Every module the build loads must be a regular file of at most
// 10,000,000 bytes inside the workspace (o.Root, or o.Dir) and outside
// .git; an import that breaks the rule is a *BuildError located at the
// import (confine.go).
func Build(ctx context.Context, o Options) (*Bundle, error) {
	o.Limits = o.Limits.OrService()
	res, err := buildOne(ctx, o, func(opts *api.BuildOptions) {
		opts.Metafile = true
		opts.LogOverride = map[string]api.LogLevel{ambiguousReexport: api.LogLevelWarning}
	})
	if err != nil {
		return nil, err
	}
	code := res.OutputFiles[0].Contents
	exports, commonJS, warnings, err := exportsOf(res.Metafile, res.Warnings)
	if err != nil {
		return nil, err
	}
	missing := slices.DeleteFunc(o.Kind.Exports(), func(name string) bool { return slices.Contains(exports, name) })
	if len(missing) > 0 {
		return nil, &ExportsError{Entry: o.Entry, Missing: missing, Have: exports, CommonJS: commonJS}
	}
	gz, err := Gzip(code)
	if err != nil {
		return nil, err
	}
	if len(gz) > o.Limits.Gzipped && len(code) <= o.Limits.Raw {
		// Gzip is fast rather than small: the smallest output may fit.
		if gz, err = gzipSmallest(code); err != nil {
			return nil, err
		}
	}
	if len(code) > o.Limits.Raw || len(gz) > o.Limits.Gzipped {
		return nil, &SizeError{Raw: len(code), Gzipped: len(gz), Limits: o.Limits}
	}
	return &Bundle{Code: code, Gzipped: gz, Exports: exports, Warnings: messages(o.Dir, warnings)}, nil
}

// exportsOf returns the names the bundle exports, sorted, as esbuild's
// metafile lists them less those that its warnings say it left out as
// ambiguous; whether the entry point is CommonJS (esbuild then makes its
// module.exports the default export); and the other warnings.
func exportsOf(metafile string, warnings []api.Message) (exports []string, commonJS bool, rest []api.Message, err error) {
	var meta struct {
		Inputs map[string]struct {
			Format string `json:"format"`
		} `json:"inputs"`
		Outputs map[string]struct {
			EntryPoint string   `json:"entryPoint"`
			Exports    []string `json:"exports"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(metafile), &meta); err != nil {
		return nil, false, nil, fmt.Errorf("bundle: read esbuild metafile: %w", err)
	}
	out, ok := meta.Outputs[outfile]
	if !ok {
		return nil, false, nil, fmt.Errorf("bundle: esbuild metafile has no entry for %s", outfile)
	}
	left := map[string]bool{}
	for _, w := range warnings {
		if w.ID != ambiguousReexport {
			rest = append(rest, w)
		} else if name, in, ok := ambiguousName(w.Text); ok && in == out.EntryPoint {
			left[name] = true
		}
	}
	exports = []string{}
	for _, name := range out.Exports {
		if !left[name] {
			exports = append(exports, name)
		}
	}
	slices.Sort(exports)
	return exports, meta.Inputs[out.EntryPoint].Format == "cjs", rest, nil
}

// ambiguousName reads esbuild's ambiguousReexport message: the name it
// left out, and the module (as the metafile names it) that lost it. esbuild
// quotes both with Go's %q, which Sscanf's %q reads back.
//
//	Re-export of "upgradeState" in "entry.ts" is ambiguous and has been removed
func ambiguousName(text string) (name, in string, ok bool) {
	n, _ := fmt.Sscanf(text, "Re-export of %q in %q", &name, &in)
	return name, in, n == 2
}

// buildOne runs esbuild with o's options, changed by change, under the
// workspace rule, and returns its result if the build made its one output
// file. A *BuildError comes with the result, whose Errors it is made of.
func buildOne(ctx context.Context, o Options, change func(*api.BuildOptions)) (api.BuildResult, error) {
	if !filepath.IsAbs(o.Dir) {
		return api.BuildResult{}, fmt.Errorf("bundle: Dir %q is not absolute", o.Dir)
	}
	opts := options(o)
	change(&opts)
	c, err := newConfiner(ctx, o, opts.Sourcemap != api.SourceMapNone)
	if err != nil {
		return api.BuildResult{}, err
	}
	defer c.close()
	opts.Plugins = []api.Plugin{c.plugin()}
	c.progress = startProgress(o.Progress, ProgressInterval)
	res, err := build(ctx, opts)
	c.progress.finish(err == nil)
	if err != nil {
		return res, err
	}
	res.Errors, res.Warnings = c.screen(res.Errors), c.screen(res.Warnings)
	if len(res.Errors) > 0 {
		return res, &BuildError{Messages: messages(o.Dir, res.Errors)}
	}
	if len(res.OutputFiles) != 1 {
		return res, fmt.Errorf("bundle: esbuild wrote %d files, want 1", len(res.OutputFiles))
	}
	return res, nil
}

// build runs esbuild under ctx. When ctx ends first, the build is cancelled
// and Build returns at once, without waiting for esbuild: a read that
// blocks (a FIFO, say) would otherwise hold the run past its time limit.
func build(ctx context.Context, opts api.BuildOptions) (api.BuildResult, error) {
	if err := ctx.Err(); err != nil {
		return api.BuildResult{}, err
	}
	bc, cerr := api.Context(opts)
	if cerr != nil {
		return api.BuildResult{}, fmt.Errorf("bundle: %w", cerr)
	}
	done := make(chan api.BuildResult, 1)
	go func() {
		done <- bc.Rebuild()
		bc.Dispose()
	}()
	select {
	case res := <-done:
		return res, nil
	case <-ctx.Done():
		go bc.Cancel() // may wait on a blocked read: never on the caller
		return api.BuildResult{}, context.Cause(ctx)
	}
}

func messages(dir string, in []api.Message) []Message {
	out := make([]Message, 0, len(in))
	for _, m := range in {
		msg := Message{Text: m.Text, Unresolved: unresolvedPath(m.Text)}
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
