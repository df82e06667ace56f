"use strict";
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
