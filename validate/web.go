package validate

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// web gives the code the web APIs of the platform's runtime that top-level
// code plausibly calls and that cost the sandbox little, deterministic, and
// each as the web platform specifies it (TestWebAPIs compares them with
// Node's):
//   - crypto.randomUUID and crypto.getRandomValues, whose bytes come from
//     the random source that Math.random reads (fill, from Go), so that
//     they are the same on every run;
//   - TextEncoder, and TextDecoder for UTF-8, which code with Go's
//     unicode/utf8 (encodeInto, textDecoder);
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
const web = `(function (g, fill, encodeInto, newDecoder) {
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

class TextEncoder {
  get encoding() { return "utf-8"; }
  encode(input) {
    var s = input === undefined ? "" : String(input), bytes = new Uint8Array(s.length * 3);
    return bytes.slice(0, encodeInto(s, bytes)[1]);
  }
  encodeInto(source, destination) {
    if (typedArrayTag.call(destination) !== "Uint8Array") throw new TypeError("TextEncoder.encodeInto: the destination is not a Uint8Array");
    var n = encodeInto(String(source), destination);
    return {read: n[0], written: n[1]};
  }
}
define("TextEncoder", TextEncoder);

var utf8Labels = ["unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"];
class TextDecoder {
  #fatal; #ignoreBOM; #decoder;
  constructor(label, options) {
    var name = label === undefined ? "utf-8" : String(label).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "").toLowerCase();
    if (utf8Labels.indexOf(name) < 0) {
      throw new RangeError("` + sandboxLacks + ` TextDecoder for " + JSON.stringify(name) + ": it decodes UTF-8 only");
    }
    options = options === undefined || options === null ? {} : Object(options);
    this.#fatal = Boolean(options.fatal);
    this.#ignoreBOM = Boolean(options.ignoreBOM);
    this.#decoder = newDecoder(this.#fatal, this.#ignoreBOM);
  }
  get encoding() { return "utf-8"; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input, options) {
    var stream = options !== undefined && options !== null && Boolean(Object(options).stream);
    if (input !== undefined && !ArrayBuffer.isView(input) && !isArrayBuffer(input)) {
      throw new TypeError("TextDecoder.decode: the input is neither an ArrayBuffer nor an ArrayBufferView");
    }
    return this.#decoder.Decode(input, stream);
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
	lines := bytes.SplitN(s.source.script, []byte("\n"), line+1)
	if line < 1 || line > len(lines) || col < 1 || col > len(lines[line-1])+1 {
		return ""
	}
	text := string(lines[line-1])
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

// fill fills an integer typed array with bytes from the random source
// that Math.random reads, for crypto.getRandomValues, which has checked
// its type and size.
func (s *sandbox) fill(b []byte) {
	var r uint64
	for i := range b {
		if i%8 == 0 {
			r = s.rand.Uint64()
		}
		b[i] = byte(r)
		r >>= 8
	}
}

// encodeInto writes the UTF-8 of src into dst while it fits, as
// TextEncoder.encodeInto does, and returns the UTF-16 code units read and
// the bytes written. goja gives src with each lone surrogate as U+FFFD, as
// the web platform's conversion to a USVString does.
func encodeInto(src string, dst []byte) [2]int {
	var read, written int
	for _, r := range src {
		if written+utf8.RuneLen(r) > len(dst) {
			break
		}
		written += utf8.EncodeRune(dst[written:], r)
		read += utf16.RuneLen(r)
	}
	return [2]int{read, written}
}

// textDecoder is a TextDecoder's UTF-8 decoder, which decodes as the
// Encoding Standard's does: each maximal invalid subsequence becomes one
// U+FFFD, or a TypeError if fatal; a byte order mark that starts the
// text is dropped unless ignoreBOM. Between the calls of one stream it
// keeps an incomplete sequence at the end and whether a BOM may still come.
type textDecoder struct {
	vm                        *goja.Runtime
	fatal, ignoreBOM, bomSeen bool
	pending                   []byte
}

func (s *sandbox) newDecoder(fatal, ignoreBOM bool) *textDecoder {
	return &textDecoder{vm: s.vm, fatal: fatal, ignoreBOM: ignoreBOM, bomSeen: ignoreBOM}
}

// Decode decodes input, the bytes of an ArrayBuffer or a view of one (nil
// for undefined); if stream, more of the stream is to come.
func (d *textDecoder) Decode(input []byte, stream bool) string {
	b, bomSeen := append(d.pending, input...), d.bomSeen
	// A call that is not part of a stream ends it; so does a throw.
	d.pending, d.bomSeen = nil, d.ignoreBOM
	var text strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			if !utf8.FullRune(b) && stream {
				d.pending = slices.Clone(b)
				break
			}
			if d.fatal {
				panic(d.vm.NewTypeError("The encoded data is not valid UTF-8"))
			}
			// The maximal subsequence that some character starts with,
			// or at the end, what is left of one.
			for n < len(b) && !utf8.FullRune(b[:n+1]) {
				n++
			}
		}
		if bomSeen || r != '\uFEFF' {
			text.WriteRune(r)
		}
		bomSeen = true
		b = b[n:]
	}
	if stream {
		d.bomSeen = bomSeen
	}
	return text.String()
}
