// The web APIs that the sandbox gives, exercised as top-level code would.
// Node runs it as it is: its output, web-apis.json, is what the sandbox
// must report too (TestWebAPIs): node web-apis.js > web-apis.json
const out = [];
const hex = (a) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
const enc = new TextEncoder();
out.push(enc.encoding, hex(enc.encode("h\u00e9llo \u20ac\ud834\udd1e \ud800!")), hex(enc.encode()));
const dst = new Uint8Array(5);
const r = enc.encodeInto("a\u20ac\u20ac", dst);
out.push(r.read, r.written, hex(dst));
const dec = (bytes, opts) => new TextDecoder("utf-8", opts).decode(new Uint8Array(bytes));
out.push(dec([0xe2, 0x82, 0x41]), dec([0xf0, 0x9f, 0x98]), dec([0xc0, 0x80]), dec([0xed, 0xa0, 0x80]), dec([0xf4, 0x90, 0x80, 0x80]),
  dec([0xef, 0xbb, 0xbf, 0x68, 0x69]), dec([0xef, 0xbb, 0xbf, 0x68], {ignoreBOM: true}).length, dec([0xf0, 0x9f, 0x98, 0x80]));
try { dec([0xff], {fatal: true}); out.push("no throw"); } catch (e) { out.push(e.name); }
const sd = new TextDecoder(" UTF8 ");
out.push(sd.encoding, sd.decode(new Uint8Array([0xe2, 0x82]), {stream: true}) + "|" + sd.decode(new Uint8Array([0xac])) + "|" + sd.decode(new Uint8Array([0xe2])));
const bd = new TextDecoder(), bytes = (...b) => new Uint8Array(b);
out.push(bd.decode(bytes(0xef, 0xbb), {stream: true}) + "|" + bd.decode(bytes(0xbf, 0x68), {stream: true}) + "|" +
  bd.decode(bytes(0xef, 0xbb, 0xbf)).length + "|" + bd.decode(bytes(0xef, 0xbb, 0xbf, 0x69)));
const fd = new TextDecoder("utf-8", {fatal: true});
try { fd.decode(bytes(0xe2), {stream: true}); fd.decode(bytes(0x41)); out.push("no throw"); } catch (e) { out.push(e.name, fd.decode(bytes(0x42))); }
out.push(new TextDecoder().decode(new DataView(new Uint8Array([0x61, 0x62, 0x63]).buffer, 1)), new TextDecoder().decode(new Uint8Array([0x78]).buffer));
out.push(btoa("hello"), btoa(""), btoa("\xff\xfe\x00"), atob(" aGVs\nbG8= "), atob("aGVsbG8"), hex(Array.from(atob("//79"), (c) => c.charCodeAt(0))));
for (const bad of [() => atob("a"), () => atob("aGVsbG8=="), () => atob("a*bc"), () => btoa("\u20ac")]) {
  try { bad(); out.push("no throw"); } catch (e) { out.push(e.name); }
}
class Point { constructor() { this.x = 1; } get y() { return 2; } }
const cyclic = {name: "c", list: [1, , 3], when: new Date(5), re: /a+/gi, map: new Map([[1, {a: 1}]]), set: new Set(["s"]),
  bytes: new Uint16Array([1, 2, 3]).subarray(1), point: new Point(), err: new RangeError("r"), n: new Number(4), big: 10n};
cyclic.self = cyclic;
const c = structuredClone(cyclic);
out.push(c !== cyclic, c.self === c, c.name, 1 in c.list, c.list.length, c.when.getTime(), c.re.source + "/" + c.re.flags,
  c.map.get(1).a, c.map.get(1) !== cyclic.map.get(1), c.set.has("s"), c.bytes.constructor.name, c.bytes.length, c.bytes[0],
  c.bytes.buffer.byteLength, Object.getPrototypeOf(c.point) === Object.prototype, c.point.x, "y" in c.point,
  c.err instanceof RangeError, c.err.message, typeof c.n, c.n + 0, typeof c.big);
for (const bad of [() => structuredClone(() => 1), () => structuredClone({s: Symbol("s")}), () => structuredClone(new WeakMap()), () => structuredClone(Promise.resolve())]) {
  try { bad(); out.push("no throw"); } catch (e) { out.push(e.name); }
}
const order = [];
queueMicrotask(() => order.push("micro"));
order.push("sync");
const a = new Uint32Array(2);
out.push(crypto.getRandomValues(a) === a);
for (const bad of [() => crypto.getRandomValues(new Float32Array(1)), () => crypto.getRandomValues(new Uint8Array(65537)), () => crypto.getRandomValues([1])]) {
  try { bad(); out.push("no throw"); } catch (e) { out.push(e.name); }
}
out.push(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()));
Promise.resolve().then(() => { (globalThis.report || console.log)(JSON.stringify(out.concat(order))); });
