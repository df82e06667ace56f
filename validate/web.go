package validate

import (
	"bytes"
	"regexp"
	"slices"
	"strings"

	"github.com/dop251/goja"
)

// web gives the code the web APIs of the platform's runtime that top-level
// code plausibly calls and that cost the sandbox little, deterministic, and
// each as the web platform specifies it (TestWebAPIs compares them with
// Node's):
//   - crypto.randomUUID and crypto.getRandomValues, whose bytes come from
//     the random source that Math.random reads (fill, from Go), so that
//     they are the same on every run;
//   - TextEncoder, and TextDecoder for UTF-8;
//   - atob and btoa, structuredClone, queueMicrotask, and DOMException,
//     which these throw.
//
// What the sandbox cannot do the platform's way it refuses with a message
// that starts with sandboxLacks, so that the check reports it as its own
// limitation: TextDecoder for another encoding, structuredClone with
// transfer. The web APIs that are not here (fetch, URL, crypto.subtle,
// ...: platformGlobals) stay undefined, as feature tests expect.
//
// It runs before the prelude and keeps the built-ins that the prelude
// wraps, as nothing here makes more than a few times what it is given.
const web = `(function (g, fill) {
"use strict";
function define(name, value) {
  Object.defineProperty(g, name, {value: value, writable: true, configurable: true, enumerable: false});
}
var join = Array.prototype.join, fromCharCode = String.fromCharCode;
var then = Promise.prototype.then, resolved = Promise.resolve(), toString = Object.prototype.toString;
var typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;
var bufferLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;
function isArrayBuffer(v) {
  try { bufferLength.call(v); return true; } catch (e) { return false; }
}
// text makes a string of UTF-16 code units, in chunks that apply takes.
function text(units) {
  var parts = [];
  for (var i = 0; i < units.length; i += 8192) parts.push(fromCharCode.apply(null, units.slice(i, i + 8192)));
  return join.call(parts, "");
}

class DOMException extends Error {
  constructor(message, name) {
    super(message === undefined ? "" : String(message));
    Object.defineProperty(this, "name", {value: name === undefined ? "Error" : String(name), writable: true, configurable: true});
  }
}
define("DOMException", DOMException);

var integerArrays = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "BigInt64Array", "BigUint64Array"];
function getRandomValues(array) {
  if (integerArrays.indexOf(typedArrayTag.call(array)) < 0) {
    throw new DOMException("The provided ArrayBufferView is not an integer array type", "TypeMismatchError");
  }
  if (array.byteLength > 65536) {
    throw new DOMException("The ArrayBufferView's byte length (" + array.byteLength +
      ") exceeds the number of bytes of entropy available via this API (65536)", "QuotaExceededError");
  }
  fill(array);
  return array;
}
function randomUUID() {
  var b = getRandomValues(new Uint8Array(16)), s = "";
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // variant 10
  for (var i = 0; i < 16; i++) {
    s += (b[i] + 0x100).toString(16).slice(1);
    if (i === 3 || i === 5 || i === 7 || i === 9) s += "-";
  }
  return s;
}
define("crypto", {getRandomValues: getRandomValues, randomUUID: randomUUID});

var lead = [0, 0, 0xc0, 0xe0, 0xf0];
// utf8 writes the UTF-8 of s into bytes while it fits, a lone surrogate
// as U+FFFD, and returns the code units read and the bytes written.
function utf8(s, bytes) {
  var read = 0, written = 0, n = s.length, max = bytes.length;
  while (read < n) {
    var c = s.charCodeAt(read), units = 1;
    if (c >= 0xd800 && c <= 0xdfff) {
      var d = read + 1 < n ? s.charCodeAt(read + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        units = 2;
      } else {
        c = 0xfffd;
      }
    }
    var size = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (written + size > max) break;
    if (size === 1) {
      bytes[written] = c;
    } else {
      for (var k = size - 1; k > 0; k--) {
        bytes[written + k] = 0x80 | (c & 0x3f);
        c >>= 6;
      }
      bytes[written] = lead[size] | c;
    }
    read += units;
    written += size;
  }
  return {read: read, written: written};
}
class TextEncoder {
  get encoding() { return "utf-8"; }
  encode(input) {
    var s = input === undefined ? "" : String(input), bytes = new Uint8Array(s.length * 3);
    return bytes.slice(0, utf8(s, bytes).written);
  }
  encodeInto(source, destination) {
    if (typedArrayTag.call(destination) !== "Uint8Array") throw new TypeError("TextEncoder.encodeInto: the destination is not a Uint8Array");
    return utf8(String(source), destination);
  }
}
define("TextEncoder", TextEncoder);

var utf8Labels = ["unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"];
// TextDecoder decodes as the Encoding Standard's UTF-8 decoder does: each
// maximal invalid subsequence becomes one U+FFFD, or a TypeError if fatal.
class TextDecoder {
  #fatal; #ignoreBOM; #state = null;
  constructor(label, options) {
    var name = label === undefined ? "utf-8" : String(label).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "").toLowerCase();
    if (utf8Labels.indexOf(name) < 0) {
      throw new RangeError("` + sandboxLacks + ` TextDecoder for " + JSON.stringify(name) + ": it decodes UTF-8 only");
    }
    options = options === undefined || options === null ? {} : Object(options);
    this.#fatal = Boolean(options.fatal);
    this.#ignoreBOM = Boolean(options.ignoreBOM);
  }
  get encoding() { return "utf-8"; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input, options) {
    var stream = options !== undefined && options !== null && Boolean(Object(options).stream), bytes;
    if (input === undefined) {
      bytes = new Uint8Array(0);
    } else if (ArrayBuffer.isView(input)) {
      bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    } else if (isArrayBuffer(input)) {
      bytes = new Uint8Array(input);
    } else {
      throw new TypeError("TextDecoder.decode: the input is neither an ArrayBuffer nor an ArrayBufferView");
    }
    var st = this.#state || {need: 0, seen: 0, cp: 0, lower: 0x80, upper: 0xbf, bomSeen: this.#ignoreBOM};
    var units = [], fatal = this.#fatal, self = this;
    this.#state = null;
    function emit(c) {
      if (!st.bomSeen) {
        st.bomSeen = true;
        if (c === 0xfeff) return;
      }
      if (c > 0xffff) {
        c -= 0x10000;
        units.push(0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
      } else {
        units.push(c);
      }
    }
    function error() {
      if (fatal) throw new TypeError("The encoded data is not valid UTF-8");
      emit(0xfffd);
    }
    for (var i = 0; i < bytes.length; i++) {
      var b = bytes[i];
      if (st.need === 0) {
        if (b <= 0x7f) {
          emit(b);
        } else if (b >= 0xc2 && b <= 0xdf) {
          st.need = 1; st.cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) st.lower = 0xa0;
          if (b === 0xed) st.upper = 0x9f;
          st.need = 2; st.cp = b & 0xf;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) st.lower = 0x90;
          if (b === 0xf4) st.upper = 0x8f;
          st.need = 3; st.cp = b & 0x7;
        } else {
          error();
        }
        continue;
      }
      if (b < st.lower || b > st.upper) {
        st.cp = st.need = st.seen = 0; st.lower = 0x80; st.upper = 0xbf;
        i--; // the byte starts the next sequence
        error();
        continue;
      }
      st.lower = 0x80; st.upper = 0xbf;
      st.cp = (st.cp << 6) | (b & 0x3f);
      if (++st.seen === st.need) {
        var c = st.cp;
        st.cp = st.need = st.seen = 0;
        emit(c);
      }
    }
    if (!stream && st.need !== 0) error();
    if (stream) self.#state = st;
    return text(units);
  }
}
define("TextDecoder", TextDecoder);

var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function invalid(message) { return new DOMException(message, "InvalidCharacterError"); }
define("btoa", function btoa(data) {
  if (arguments.length === 0) throw new TypeError("btoa: 1 argument required, but only 0 present");
  var s = String(data), units = [];
  for (var i = 0; i < s.length; i += 3) {
    var n = 0;
    for (var k = 0; k < 3; k++) {
      var c = i + k < s.length ? s.charCodeAt(i + k) : 0;
      if (c > 0xff) throw invalid("The string to be encoded contains characters outside of the Latin1 range.");
      n = (n << 8) | c;
    }
    units.push(B64.charCodeAt(n >> 18), B64.charCodeAt((n >> 12) & 63),
      i + 1 < s.length ? B64.charCodeAt((n >> 6) & 63) : 61, i + 2 < s.length ? B64.charCodeAt(n & 63) : 61);
  }
  return text(units);
});
define("atob", function atob(data) {
  if (arguments.length === 0) throw new TypeError("atob: 1 argument required, but only 0 present");
  var s = String(data).replace(/[\t\n\f\r ]+/g, "");
  if (s.length % 4 === 0) s = s.replace(/==?$/, "");
  if (s.length % 4 === 1 || /[^A-Za-z0-9+\/]/.test(s)) throw invalid("The string to be decoded is not correctly encoded.");
  var units = [], n = 0, bits = 0;
  for (var i = 0; i < s.length; i++) {
    n = ((n << 6) | B64.indexOf(s[i])) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      units.push((n >> bits) & 0xff);
    }
  }
  return text(units);
});

// structuredClone clones what the HTML standard's structured clone does,
// found by the same internal slots (brand checks), and throws its
// DataCloneError for the rest.
var brands = [
  ["Date", Date.prototype.getTime, function (v) { return new Date(v.getTime()); }],
  ["RegExp", Object.getOwnPropertyDescriptor(RegExp.prototype, "source").get, function (v) { return new RegExp(v.source, v.flags); }],
  ["Boolean", Boolean.prototype.valueOf, function (v) { return Object(Boolean.prototype.valueOf.call(v)); }],
  ["Number", Number.prototype.valueOf, function (v) { return Object(Number.prototype.valueOf.call(v)); }],
  ["String", String.prototype.valueOf, function (v) { return Object(String.prototype.valueOf.call(v)); }],
  ["BigInt", BigInt.prototype.valueOf, function (v) { return Object(BigInt.prototype.valueOf.call(v)); }],
  ["ArrayBuffer", bufferLength, function (v) { return v.slice(0); }],
];
// A promise has no brand check free of effects: it is told by its tag.
var uncloneable = [WeakMap.prototype.has, WeakSet.prototype.has, Symbol.prototype.valueOf];
var uncloneableTags = ["[object Promise]", "[object Generator]", "[object AsyncGenerator]"];
function has(check, v) {
  try { check.call(v, v); return true; } catch (e) { return false; }
}
function cloneError() {
  return new DOMException("The object could not be cloned.", "DataCloneError");
}
define("structuredClone", function structuredClone(value, options) {
  if (arguments.length === 0) throw new TypeError("structuredClone: 1 argument required, but only 0 present");
  if (options !== undefined && options !== null && options.transfer !== undefined && options.transfer.length > 0) {
    throw new TypeError("` + sandboxLacks + ` structuredClone with transfer");
  }
  var memory = new Map();
  function clone(v) {
    if (typeof v === "function" || typeof v === "symbol") throw cloneError();
    if (v === null || typeof v !== "object") return v;
    if (memory.has(v)) return memory.get(v);
    var out, i;
    for (i = 0; i < brands.length; i++) {
      if (has(brands[i][1], v)) {
        out = brands[i][2](v);
        memory.set(v, out);
        return out;
      }
    }
    if (ArrayBuffer.isView(v)) {
      var view = typedArrayTag.call(v) || "DataView", buffer = clone(v.buffer);
      out = view === "DataView" ? new DataView(buffer, v.byteOffset, v.byteLength) : new g[view](buffer, v.byteOffset, v.length);
      memory.set(v, out);
      return out;
    }
    if (has(Map.prototype.has, v)) {
      out = new Map();
      memory.set(v, out);
      Map.prototype.forEach.call(v, function (val, key) { out.set(clone(key), clone(val)); });
      return out;
    }
    if (has(Set.prototype.has, v)) {
      out = new Set();
      memory.set(v, out);
      Set.prototype.forEach.call(v, function (val) { out.add(clone(val)); });
      return out;
    }
    var tag = toString.call(v);
    if (uncloneable.some(function (check) { return has(check, v); }) || uncloneableTags.indexOf(tag) >= 0) throw cloneError();
    if (tag === "[object Error]") {
      var Ctor = {EvalError: EvalError, RangeError: RangeError, ReferenceError: ReferenceError, SyntaxError: SyntaxError,
        TypeError: TypeError, URIError: URIError}[v.name] || Error;
      out = new Ctor();
      memory.set(v, out);
      if (Object.prototype.hasOwnProperty.call(v, "message")) out.message = String(v.message);
      return out;
    }
    out = Array.isArray(v) ? new Array(v.length) : {};
    memory.set(v, out);
    var keys = Object.keys(v);
    for (i = 0; i < keys.length; i++) out[keys[i]] = clone(v[keys[i]]);
    return out;
  }
  return clone(value);
});

define("queueMicrotask", function queueMicrotask(callback) {
  if (typeof callback !== "function") throw new TypeError("queueMicrotask: the callback is not a function");
  then.call(resolved, function () { callback(); });
});
})
`

// sandboxLacks starts the message of a refusal that is the sandbox's, not
// the code's, and the hint of one that the sandbox explains.
const sandboxLacks = "the validation sandbox lacks"

// platformGlobals are the globals of the platform's web-standard runtime
// that the sandbox lacks: web APIs that do more than compute (fetch,
// streams, events), that are large (URL, Intl), or that goja lacks.
// A member of a global the sandbox has is named in full (crypto.subtle).
var platformGlobals = []string{
	"AbortController", "AbortSignal", "Atomics", "Blob", "ByteLengthQueuingStrategy", "CompressionStream",
	"CountQueuingStrategy", "Crypto", "CryptoKey", "CustomEvent", "DecompressionStream", "ErrorEvent", "Event",
	"EventTarget", "File", "FinalizationRegistry", "FormData", "Headers", "Intl", "Iterator", "MessageChannel",
	"MessageEvent", "MessagePort", "Performance", "ProgressEvent", "ReadableStream", "Request", "Response",
	"SharedArrayBuffer", "SubtleCrypto", "TextDecoderStream", "TextEncoderStream", "TransformStream", "URL",
	"URLPattern", "URLSearchParams", "WeakRef", "WebAssembly", "WebSocket", "WritableStream",
	"crypto.subtle", "fetch", "navigator", "performance", "reportError",
}

var (
	// notDefined is a ReferenceError's message: the global is missing.
	notDefined = regexp.MustCompile(`^ReferenceError: ([\w$]+) is not defined$`)
	// refused is the message of a refusal of the sandbox's own.
	refused = regexp.MustCompile(sandboxLacks + ` ([^:]+)`)
	// memberBefore is the member expression that ends a text.
	memberBefore = regexp.MustCompile(`((?:[A-Za-z_$][\w$]*\s*\??\.\s*)*[A-Za-z_$][\w$]*)\s*(?:\??\.)?\s*$`)
	// identAt is the name that a TypeError points at the start of.
	identAt = regexp.MustCompile(`^[A-Za-z_$][\w$]*`)
	// newAt is a construction that a TypeError points at the start of.
	newAt = regexp.MustCompile(`^new\s+((?:[A-Za-z_$][\w$]*\s*\.\s*)*[A-Za-z_$][\w$]*)`)
)

// lacks returns what a throw shows that the code used, the platform has
// and the sandbox lacks: a global that a ReferenceError names; one that
// the script reads through globalThis (or crypto.subtle) where a
// TypeError points, as goja's messages do not name it; or what a refusal
// of the sandbox's own names. "" if the throw is the code's own.
func (s *sandbox) lacks(message string, stack []goja.StackFrame) string {
	if m := notDefined.FindStringSubmatch(message); m != nil {
		if slices.Contains(platformGlobals, m[1]) {
			return m[1]
		}
		return ""
	}
	if m := refused.FindStringSubmatch(message); m != nil {
		return m[1]
	}
	if !strings.HasPrefix(message, "TypeError: ") {
		return ""
	}
	for _, f := range stack {
		if p := f.Position(); p.Filename != "" && p.Line > 0 {
			if p.Filename != Outfile {
				return "" // code that eval compiled, or a built-in
			}
			return s.platformMember(p.Line, p.Column)
		}
	}
	return ""
}

// platformMember returns the global of platformGlobals that the script
// reads at line:col through globalThis, or crypto.subtle, or "". goja
// points a TypeError at the name of the member that is undefined
// (globalThis.crypto.|subtle.digest()), at the call of one that is not a
// function (globalThis.fetch|()), or at the new of one that is not a
// constructor (|new globalThis.URL()).
func (s *sandbox) platformMember(line, col int) string {
	text := lineOf(s.source.script, line)
	if col < 1 || col > len(text)+1 {
		return ""
	}
	before, at := text[:col-1], text[col-1:]
	if len(before) > 256 {
		before = before[len(before)-256:]
	}
	var expr string
	if m := newAt.FindStringSubmatch(at); m != nil {
		expr = m[1]
	} else if m := memberBefore.FindStringSubmatch(before + identAt.FindString(at)); m != nil {
		expr = m[1]
	}
	parts := strings.Split(strings.NewReplacer(" ", "", "\t", "", "?", "").Replace(expr), ".")
	rooted := parts[0] == "globalThis"
	if rooted {
		parts = parts[1:]
	}
	switch {
	case len(parts) >= 2 && slices.Contains(platformGlobals, parts[0]+"."+parts[1]):
		return parts[0] + "." + parts[1]
	case rooted && len(parts) >= 1 && slices.Contains(platformGlobals, parts[0]):
		return parts[0]
	}
	return ""
}

// lineOf returns line n (1-based) of script, without its newline.
func lineOf(script []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(script, '\n')
		if j < 0 {
			return ""
		}
		script = script[j+1:]
	}
	if j := bytes.IndexByte(script, '\n'); j >= 0 {
		script = script[:j]
	}
	return string(script)
}

// fill fills an integer typed array with bytes from the random source
// that Math.random reads, for crypto.getRandomValues, which has checked
// its type and size.
func (s *sandbox) fill(call goja.FunctionCall) goja.Value {
	var b []byte
	if err := s.vm.ExportTo(call.Argument(0), &b); err != nil {
		panic(s.vm.NewTypeError("getRandomValues: %v", err))
	}
	var r uint64
	for i := range b {
		if i%8 == 0 {
			r = s.rand.Uint64()
		}
		b[i] = byte(r)
		r >>= 8
	}
	return goja.Undefined()
}
