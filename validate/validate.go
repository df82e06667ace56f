// Package validate evaluates a machine version's or a migration's code
// before it is uploaded, and checks what the official StateBacked CLI checks
// before it creates a machine version: that allowRead and allowWrite are
// functions, that the default export is an XState machine, and that the
// machine's definition resolves (it throws for a transition to a state that
// does not exist). It also checks what the official CLI does not: that each
// state's initial names one of its child states, and that a state with
// child states but no initial is never entered without naming one of them
// (XState throws for either only when an instance enters the state); and
// for a migration, that upgradeState and upgradeContext are functions.
//
// The official CLI evaluates the code with Node. Check needs no Node: it runs
// the code in goja, an ECMAScript engine written in Go, as a sandbox with no
// file system, network, environment, timers or Node APIs, with a clock and a
// random source that are the same on every machine and every run, and with
// bounds on time and memory. Of the web APIs of the platform's runtime it
// has those that top-level code plausibly calls and that compute only
// (crypto.randomUUID and getRandomValues, TextEncoder and TextDecoder, atob
// and btoa, structuredClone, queueMicrotask); code that uses another at the
// top level fails with an *Error that says the sandbox lacks it.
//
// # The evaluation variant
//
// Check does not evaluate the upload itself: that is an ES module that
// imports npm:xstate, which only the platform provides. It evaluates a second
// build of the same entry point, the evaluation variant, which esbuild makes
// from the upload's options with these changes only:
//
//   - Format: IIFE (api.FormatIIFE), with GlobalName set to [GlobalName], so
//     that the script hands the module's exports to the engine;
//   - xstate bundled in from the app's node_modules: no alias to npm:xstate
//     and no External;
//   - the upload's target (ES2022), with each feature that [Unsupported]
//     names set to false in Supported, so that esbuild lowers what goja
//     cannot run;
//   - Outfile: [Outfile], with Sourcemap api.SourceMapInline and
//     SourcesContent api.SourcesContentExclude: Check reads the inline
//     sourcemap when an error has a position, so that the error names the
//     original file (relative to AbsWorkingDir), line and column. Without
//     a sourcemap, positions are in the script, named Outfile.
//
// Everything else (bundle, platform browser, minify, keepNames, legal
// comments, define, drop) stays as the upload has it.
package validate

import (
	"context"
	"fmt"
	"time"

	"sbdeploy/bundle"
)

// The esbuild options of the evaluation variant (see the package
// documentation), as plain data for the package that builds it.
const (
	// GlobalName is the variant's esbuild GlobalName: the global variable
	// that the IIFE assigns the module's exports to, and that Check reads.
	GlobalName = "__sbdeploy_exports"
	// Outfile is the variant's esbuild Outfile, and the name Check gives the
	// script in positions that no sourcemap maps. It has no directory, so
	// that the sourcemap's sources are relative to esbuild's AbsWorkingDir.
	Outfile = "sbdeploy-check.js"
)

// Unsupported returns the esbuild features, as keys of esbuild's Supported
// option (and of its --supported flag), that the variant must set to false:
// the ES2022 syntax that goja cannot parse. Found by running a probe of
// ES2015-ES2022 syntax and built-ins through esbuild and goja.
func Unsupported() []string {
	return []string{
		// goja parses neither async generators nor for await; esbuild
		// lowers both to generators and promises, which goja runs.
		"async-generator",
		"for-await",
		// goja rejects the d flag; esbuild turns such a literal into a
		// RegExp call, which throws only if it runs, as it would in a
		// runtime that lacks the flag.
		"regexp-match-indices",
	}
}

// The defaults of Options. Both allow ordinary work at the top level with
// room to spare (startupWork: TestStartupWork runs it with the defaults,
// BenchmarkStartupWork measures it), and stop runaway code; the error
// names the limit that was passed.
const (
	// DefaultTimeout stops an infinite loop at the top level within
	// seconds.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxHeapBytes stops code that allocates without bound before
	// the process needs more memory than a CI runner can spare. goja
	// cannot be interrupted inside one allocation, so code that doubles a
	// string passes the bound by one to three doublings before it stops.
	DefaultMaxHeapBytes = 256 << 20
)

// Options bounds an evaluation. The zero value means the defaults.
type Options struct {
	// Timeout bounds the evaluation and the checks; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxHeapBytes bounds how far the Go heap may grow above its size when
	// the evaluation starts; 0 means DefaultMaxHeapBytes. goja has no
	// memory limit of its own, so the bound is on the whole process's heap,
	// sampled every 2 ms. Past it, a collection tells the code's live
	// memory from garbage (the process's too), and the code is stopped if
	// the heap is still past it; at twice the bound it is stopped at once.
	// Memory that other goroutines hold during the evaluation counts too.
	MaxHeapBytes uint64
}

func (o Options) withDefaults() (Options, error) {
	if o.Timeout < 0 {
		return o, fmt.Errorf("validate: negative Timeout %v", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxHeapBytes == 0 {
		o.MaxHeapBytes = DefaultMaxHeapBytes
	}
	return o, nil
}

// Check evaluates script, the evaluation variant of a bundle (see the
// package documentation), and checks its exports for kind; for a machine
// version, also that the machine's initial states exist. It returns nil if
// the code passes; an *Error if the code fails, threw, ran out of time or
// allocated too much; and another error if ctx ends first (one that wraps
// ctx's error) or if script is not an evaluation variant at all.
//
// Check returns within about a second of the timeout or of ctx's end even if
// the engine is inside a long built-in call, which it cannot interrupt; the
// engine then stops in the background as soon as that call returns.
func Check(ctx context.Context, script []byte, kind bundle.Kind, opts Options) error {
	if kind != bundle.MachineVersion && kind != bundle.Migration {
		return fmt.Errorf("validate: unknown %v", kind)
	}
	s := newSandbox(script)
	return s.do(ctx, opts, func() error { return s.evaluate(kind) })
}
