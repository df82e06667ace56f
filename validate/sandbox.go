package validate

import (
	_ "embed"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// maxCallStack bounds the engine's call depth near V8's for small frames
// (about 10,000 on the platform's runtime), so that runaway recursion ends
// as a stack overflow rather than as a heap that grows until the memory
// bound stops it.
const maxCallStack = 10_000

// epochUnixMilli is the instant the sandbox's clock starts at on every run:
// 2024-01-01T00:00:00Z.
const epochUnixMilli = 1_704_067_200_000

// prelude gives the code what the platform's runtime has and the engine
// lacks, without reaching outside the engine:
//   - console, whose methods do nothing: xstate reads console.log.bind at
//     the top level, and nothing may reach the process's output;
//   - setTimeout and setInterval that never fire, so that no callback runs
//     after Check returns; the check is of what the top level builds;
//   - Date's local-time methods made those of UTC, the platform's zone:
//     goja reads the process's time zone (Go's time.Local), so without this
//     new Date().getHours() would differ between machines;
//   - the built-ins that make one string from a length the code chooses
//     (repeat, padStart, padEnd, concat, join, and Array's toString, which
//     joins) refuse a result over maxStringLength characters, as V8 refuses
//     one over its own limit: goja cannot be interrupted inside one
//     built-in call, so one such call could allocate gigabytes before the
//     memory watchdog sees it.
//
//go:embed js/prelude.js
var prelude string

// maxStringLength is the longest string the wrapped built-ins make (MAX in
// the prelude, which TestStringLimit checks): 16 Mi characters, 32 MiB in
// the engine, under DefaultMaxHeapBytes.
const maxStringLength = 1 << 24

// inspectors are the functions that Check and Describe call in the
// sandbox. typeOf, has and get are the operators that goja's Go API lacks,
// as the official CLI's check spells them.
//
// badInitial walks a machine's state nodes for an initial state that
// XState throws for only when an instance enters it. It reads what XState
// 4 and 5 both have: each node's states, type, id and config.initial
// (XState 5 also takes {target}), and its transitions' targets (XState 4:
// an array; 5: a Map, and always). It returns the first fault in document
// order, or null:
//   - a node, not parallel (XState ignores initial there), whose initial
//     names none of its child states;
//   - a compound node without initial that the machine enters without
//     naming a child: when it starts (the root, and down initial states and
//     parallel regions), or as a transition's target.
//
// describe returns, as JSON, each state node's path, type and initial
// (compound states only), its transitions' event types (an array in
// XState 4, a Map in 5), and the machine's context (XState 4 computes it;
// XState 5 keeps the config's, which may be a function of the input).
//
//go:embed js/inspectors.js
var inspectors string

// sandbox is one evaluation's engine. Only its evaluate goroutine uses the
// runtime, apart from Interrupt, which goja allows from any goroutine.
type sandbox struct {
	vm     *goja.Runtime
	source source
	// js are the helpers, once module has loaded them.
	js *helpers
	// rand is the random source of Math.random and crypto, seeded the
	// same on every run.
	rand *rand.Rand
	// rejected are the promises rejected with no handler so far. Node,
	// which the official CLI evaluates with, fails on one that still has
	// none when the module has been evaluated.
	rejected []*goja.Promise
	// stuck is set when the engine did not stop for an interrupt in time:
	// it may still be running.
	stuck bool
	// restarts starts the time limit of supervise over (see restart).
	restarts chan struct{}
}

// restart starts the time limit over: the engine goroutine calls it before
// each of several calls that each get the whole limit.
func (s *sandbox) restart() {
	select {
	case s.restarts <- struct{}{}:
	default: // one is pending already
	}
}

func newSandbox(script []byte) *sandbox {
	vm := goja.New()
	// eval and Function would otherwise read the file that a
	// sourceMappingURL comment names.
	vm.SetParserOptions(parser.WithDisableSourceMaps)
	vm.SetMaxCallStackSize(maxCallStack)
	// The clock advances a millisecond per reading, so that a loop that
	// waits for time to pass ends, the same way on every run.
	now := time.UnixMilli(epochUnixMilli).UTC()
	vm.SetTimeSource(func() time.Time {
		now = now.Add(time.Millisecond)
		return now
	})
	r := rand.New(rand.NewPCG(1, 2))
	vm.SetRandSource(r.Float64)
	s := &sandbox{vm: vm, source: source{script: script}, rand: r, restarts: make(chan struct{}, 1)}
	vm.SetPromiseRejectionTracker(s.track)
	return s
}

// programs are the sandbox's own scripts compiled, once: a goja.Program is
// bound to no runtime, so every check shares them.
var programs = sync.OnceValue(func() compiled {
	return compiled{
		// No file name: the position of a throw skips their frames, as it
		// skips a built-in's, and lands on the app's line that called them.
		web:        goja.MustCompile("", web, true),
		prelude:    goja.MustCompile("", prelude, true),
		inspectors: goja.MustCompile("", inspectors, true),
		migration:  goja.MustCompile("", migrationJS, true),
	}
})

type compiled struct{ web, prelude, inspectors, migration *goja.Program }

// setUp gives the code the globals of web, then those of the prelude.
func (s *sandbox) setUp() error {
	v, err := s.vm.RunProgram(programs().web)
	if err != nil {
		return err
	}
	install, ok := goja.AssertFunction(v)
	if !ok {
		return fmt.Errorf("validate: the web prelude is not a function")
	}
	_, err = install(goja.Undefined(), s.vm.GlobalObject(), s.vm.ToValue(s.fill), s.vm.ToValue(encodeInto), s.vm.ToValue(s.newDecoder))
	if err != nil {
		return err
	}
	_, err = s.vm.RunProgram(programs().prelude)
	return err
}

func (s *sandbox) track(p *goja.Promise, op goja.PromiseRejectionOperation) {
	if op == goja.PromiseRejectionReject {
		s.rejected = append(s.rejected, p)
		return
	}
	s.rejected = slices.DeleteFunc(s.rejected, func(q *goja.Promise) bool { return q == p })
}
