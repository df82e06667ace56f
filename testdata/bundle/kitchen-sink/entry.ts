// Exercises every esbuild option the upload depends on.
import type { Snapshot } from "not-installed-types"; // type-only: must not fail
import { type AnyActor, assign } from "xstate"; // must become an import of npm:xstate
import clamp from "tiny-clamp"; // resolved from node_modules
import { Counter, Mode } from "./lib/counter";

/*! legal comment: must not be in the output */

export class Upgrader {
  upgrade(state: Snapshot): Snapshot {
    debugger; // dropped
    return state;
  }
}

export function upgradeState(state: string): string {
  if (process.env.NODE_ENV !== "production") {
    throw new Error("development build"); // removed by the define
  }
  return state === Mode.Old ? Mode.New : state;
}

export function upgradeContext(context: { n: number; actor?: AnyActor }) {
  const counter = new Counter(clamp(context.n, 0, 10));
  return { ...context, n: counter.value, assign: typeof assign };
}
