(function (g, fill, encodeInto, newDecoder) {
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
      throw new RangeError("the validation sandbox lacks TextDecoder for " + JSON.stringify(name) + ": it decodes UTF-8 only");
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
    throw new TypeError("the validation sandbox lacks structuredClone with transfer");
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
