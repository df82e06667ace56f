(function () {
  function what(v, show) {
    if (v === null) return "null";
    if (Array.isArray(v)) return "an array";
    if (typeof v === "string") return show ? "a string (" + JSON.stringify(v.slice(0, 60)) + ")" : "a string";
    if (typeof v === "number") return show ? "a number (" + v + ")" : "a number";
    if (typeof v === "object" && typeof v.then === "function") return "a Promise (the function must not be async)";
    if (typeof v === "object") return "an object";
    return typeof v === "undefined" ? "undefined" : "a " + typeof v;
  }
  return {
    call: function (f, args) { return f.apply(undefined, JSON.parse(args)); },
    path: function (v, show) {
      if (!Array.isArray(v)) return {why: "returned " + what(v, show) + ", not an array of state keys"};
      for (var i = 0; i < v.length; i++) {
        if (typeof v[i] !== "string") return {why: "returned an array whose item " + i + " is " + what(v[i], show) + ", not a state key"};
      }
      return {path: v.slice()};
    },
    plain: function (v, show) {
      if (v === null || typeof v !== "object" || Array.isArray(v)) return "returned " + what(v, show) + ", not a context object";
      // The path to a value is kept as a stack and joined only for a fault,
      // and shown only if show: in a replay, keys are the instance's data.
      var seen = new Set(), at = ["context"];
      function where() { return show ? at.join("") : "a value in the context"; }
      function check(x) {
        switch (typeof x) {
        case "string": case "boolean": return "";
        case "number": return isFinite(x) ? "" : where() + " is " + x + ", which JSON turns into null";
        case "undefined": return where() + " is undefined, which JSON leaves out";
        case "function": return where() + " is a function, which JSON leaves out";
        case "bigint": return where() + " is a BigInt, which JSON cannot encode";
        case "symbol": return where() + " is a symbol, which JSON leaves out";
        }
        if (x === null) return "";
        if (seen.has(x)) return where() + " refers back to an object that holds it, which JSON cannot encode";
        var proto = Object.getPrototypeOf(x);
        if (!Array.isArray(x) && proto !== Object.prototype && proto !== null) {
          var name = show && proto && proto.constructor && typeof proto.constructor.name === "string" ? proto.constructor.name : "";
          return where() + " is " + (name ? "a " + name : "an object of a class") + ", which JSON does not keep as it is";
        }
        if (typeof x.toJSON === "function") return where() + " has a toJSON method, which JSON calls instead";
        seen.add(x);
        var keys = Object.keys(x), array = Array.isArray(x);
        for (var i = 0; i < keys.length; i++) {
          at.push(array ? "[" + keys[i] + "]" : "." + keys[i]);
          var why = check(x[keys[i]]);
          at.pop();
          if (why) return why;
        }
        seen.delete(x);
        return "";
      }
      var why = check(v);
      return why ? "returned a context that JSON changes: " + why : "";
    },
  };
})()
