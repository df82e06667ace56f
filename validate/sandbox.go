package validate

import (
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
const prelude = `"use strict";
(function (g) {
  function noop() {}
  var console = {};
  ["assert", "clear", "count", "countReset", "debug", "dir", "dirxml", "error",
   "group", "groupCollapsed", "groupEnd", "info", "log", "table", "time",
   "timeEnd", "timeLog", "trace", "warn"].forEach(function (k) { console[k] = noop; });
  g.console = console;
  var timers = 0;
  function schedule() { return ++timers; }
  g.setTimeout = schedule;
  g.setInterval = schedule;
  g.clearTimeout = noop;
  g.clearInterval = noop;
  var P = Date.prototype;
  ["FullYear", "Month", "Date", "Hours", "Minutes", "Seconds", "Milliseconds"].forEach(function (n) {
    P["get" + n] = P["getUTC" + n];
    P["set" + n] = P["setUTC" + n];
  });
  P.getDay = P.getUTCDay;
  P.getTimezoneOffset = function getTimezoneOffset() { return 0; };
  var MAX = 16777216; // maxStringLength
  function guard(n) {
    if (n > MAX) throw new RangeError("Invalid string length: the check allows strings of up to " + MAX + " characters");
  }
  function wrap(proto, name, length) {
    var original = proto[name];
    Object.defineProperty(proto, name, {writable: true, configurable: true, enumerable: false, value: function () {
      guard(length.apply(this, arguments));
      return original.apply(this, arguments);
    }});
  }
  var S = String.prototype;
  wrap(S, "repeat", function (count) { return String(this).length * (Math.floor(Number(count)) || 0); });
  wrap(S, "padStart", function (target) { return Math.floor(Number(target)) || 0; });
  wrap(S, "padEnd", function (target) { return Math.floor(Number(target)) || 0; });
  wrap(S, "concat", function () {
    var n = String(this).length;
    for (var i = 0; i < arguments.length; i++) n += String(arguments[i]).length;
    return n;
  });
  var join = Array.prototype.join;
  Object.defineProperty(Array.prototype, "join", {writable: true, configurable: true, enumerable: false, value: function (sep) {
    var parts = [], n = 0, len = this.length >>> 0;
    sep = sep === undefined ? "," : String(sep);
    for (var i = 0; i < len; i++) {
      var el = this[i];
      var s = el === undefined || el === null ? "" : String(el);
      n += s.length + (i > 0 ? sep.length : 0);
      guard(n);
      parts.push(s);
    }
    return join.call(parts, sep);
  }});
  Object.defineProperty(Array.prototype, "toString", {writable: true, configurable: true, enumerable: false, value: function () {
    return typeof this.join === "function" ? this.join() : Object.prototype.toString.call(this);
  }});
})(globalThis);
`

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
const inspectors = `(function () {
  function children(node) {
    return node.states !== null && typeof node.states === "object" ? Object.keys(node.states) : [];
  }
  function initialOf(node) {
    var i = node.config !== null && typeof node.config === "object" ? node.config.initial : undefined;
    return i !== null && typeof i === "object" ? i.target : i;
  }
  return {
    typeOf: function (v) { return v === null ? "null" : typeof v; },
    has: function (o, k) { return k in o; },
    get: function (o, k) { return o[k]; },
    badInitial: function (machine) {
      var nodes = [], seen = new Set();
      (function walk(node) {
        if (node === null || typeof node !== "object" || seen.has(node)) return;
        seen.add(node);
        nodes.push(node);
        children(node).forEach(function (k) { walk(node.states[k]); });
      })(machine);
      for (var n = 0; n < nodes.length; n++) {
        var node = nodes[n], initial = initialOf(node);
        if (initial !== undefined && node.type !== "parallel" && children(node).indexOf(String(initial)) < 0) {
          return {state: "#" + node.id, initial: String(initial), children: children(node)};
        }
      }
      var entered = new Map();
      function enter(node, how) {
        if (node === null || typeof node !== "object" || entered.has(node) || node.type === "history") return;
        entered.set(node, how);
        if (node.type === "parallel") {
          children(node).forEach(function (k) { enter(node.states[k], how); });
        } else if (initialOf(node) !== undefined) {
          enter(node.states[initialOf(node)], how);
        }
      }
      enter(machine, "when it starts");
      nodes.forEach(function (node) {
        var ts = node.transitions, all = [];
        if (Array.isArray(ts)) all = ts;
        else if (ts instanceof Map) ts.forEach(function (list) { all = all.concat(list); });
        if (Array.isArray(node.always)) all = all.concat(node.always);
        all.forEach(function (t) {
          var after = /^xstate\.after\((.*)\)#/.exec(t.eventType), from = " from #" + node.id;
          var how = !t.eventType ? "through an eventless transition of #" + node.id :
            after ? "after " + after[1] + (/^\d+$/.test(after[1]) ? " ms" : "") + from : "on " + t.eventType + from;
          (Array.isArray(t.target) ? t.target : []).forEach(function (target) { enter(target, how); });
        });
      });
      for (n = 0; n < nodes.length; n++) {
        node = nodes[n];
        if (node.type === "compound" && initialOf(node) === undefined && entered.has(node)) {
          return {state: "#" + node.id, children: children(node), entered: entered.get(node)};
        }
      }
      return null;
    },
    describe: function (machine) {
      var states = [], events = new Set(), seen = new Set();
      // XState 5's machine keeps its state nodes under root.
      var root = machine.root !== null && typeof machine.root === "object" && machine.root.states ? machine.root : machine;
      (function walk(node, path) {
        if (node === null || typeof node !== "object" || seen.has(node)) return;
        seen.add(node);
        var initial = node.type === "compound" ? initialOf(node) : undefined;
        states.push({path: path, type: String(node.type), initial: initial === undefined || initial === null ? "" : String(initial)});
        var ts = node.transitions;
        if (Array.isArray(ts)) ts.forEach(function (t) { events.add(t.eventType); });
        else if (ts instanceof Map) ts.forEach(function (list, type) { events.add(type); });
        children(node).forEach(function (k) { walk(node.states[k], path.concat([k])); });
      })(root, []);
      // XState 4 computes the context; XState 5 keeps the config's, which
      // may be made from the instance's input: then it is not known (null).
      var context = {};
      try {
        var c = machine.context;
        if (c === undefined && machine.config) c = machine.config.context;
        if (typeof c === "function") c = null;
        context = c === null ? null : c !== undefined && typeof c === "object" ? JSON.parse(JSON.stringify(c)) : {};
      } catch (e) { context = null; }
      return JSON.stringify({
        states: states,
        events: Array.from(events).filter(function (e) {
          return typeof e === "string" && e !== "" && !/^(xstate\.|done\.|error\.)/.test(e);
        }).sort(),
        context: context,
      });
    },
  };
})()`

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
