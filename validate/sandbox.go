package validate

import (
	"math/rand/v2"
	"slices"
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

// inspectors are the operators Check needs that goja's Go API lacks, as the
// official CLI's check spells them.
const inspectors = `({
  typeOf: function (v) { return v === null ? "null" : typeof v; },
  has: function (o, k) { return k in o; },
  get: function (o, k) { return o[k]; },
})`

// sandbox is one evaluation's engine. Only its evaluate goroutine uses the
// runtime, apart from Interrupt, which goja allows from any goroutine.
type sandbox struct {
	vm     *goja.Runtime
	source source
	// rejected are the promises rejected with no handler so far. Node,
	// which the official CLI evaluates with, fails on one that still has
	// none when the module has been evaluated.
	rejected []*goja.Promise
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
	vm.SetRandSource(rand.New(rand.NewPCG(1, 2)).Float64)
	s := &sandbox{vm: vm, source: source{script: script}}
	vm.SetPromiseRejectionTracker(s.track)
	return s
}

func (s *sandbox) track(p *goja.Promise, op goja.PromiseRejectionOperation) {
	if op == goja.PromiseRejectionReject {
		s.rejected = append(s.rejected, p)
		return
	}
	s.rejected = slices.DeleteFunc(s.rejected, func(q *goja.Promise) bool { return q == p })
}
