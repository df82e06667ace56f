(function () {
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
})()
