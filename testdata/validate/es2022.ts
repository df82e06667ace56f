// Syntax and built-ins up to ES2022, which the upload keeps (target es2022)
// and the evaluation variant lowers only where goja needs it. Each check
// runs at the top level and throws if the engine parses or runs it wrong;
// the asynchronous ones reject a promise that nothing handles.
function check(name: string, ok: boolean): void {
  if (!ok) throw new Error(`wrong result: ${name}`);
}

class Counter {
  static instances = 0;
  static {
    Counter.instances = 0;
  }
  #count = 0;
  label = "counter";
  increment(): number {
    Counter.instances ||= 1;
    return ++this.#count;
  }
  static has(o: object): boolean {
    return #count in o;
  }
}
const c = new Counter();
c.increment();
check("class fields, private members, static blocks", c.increment() === 2 && Counter.has(c) && c.label === "counter");
check("optional chaining and nullish coalescing", (({ a: { b: null } }) as any).a?.b?.c ?? true);
check("logical assignment", Counter.instances === 1);
check("bigint and numeric separators", 2n ** 64n === 18_446_744_073_709_551_616n);
check("object spread and rest", (({ a, ...rest }) => rest.b)({ a: 1, b: 2, ...{ c: 3 } }) === 2);
check("regexp named groups, lookbehind, dotAll", /(?<=a)(?<x>b.c)/s.exec("ab\nc")?.groups?.x === "b\nc");
check("Array.prototype.at, Object.hasOwn, String.prototype.replaceAll", [1, 2].at(-1) === 2 && Object.hasOwn({ k: 1 }, "k") && "aa".replaceAll("a", "b") === "bb");
check("error cause", new Error("x", { cause: 1 }).cause === 1);

async function* countTo(n: number): AsyncGenerator<number> {
  for (let i = 1; i <= n; i++) {
    yield await Promise.resolve(i);
  }
}
(async () => {
  let sum = 0;
  for await (const i of countTo(3)) sum += i;
  check("async generators and for await", sum === 6);
})();

// Parsed but never run: goja lacks the d flag, so it must only be lowered
// to a RegExp call, which would throw if it ran.
export function matchIndices(s: string): unknown {
  return /a/d.exec(s);
}

export const upgradeState = (state: unknown) => state;
export const upgradeContext = (context: unknown) => context;
