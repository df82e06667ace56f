// The machine's clock: an observable of TICK events, one a minute, that
// xstate runs as an invoked service while reminders are pending.
import { interval, map, startWith, type Observable } from "rxjs";

export type Tick = { type: "TICK"; at: number };

export function ticker(periodMs = 60_000): Observable<Tick> {
  return interval(periodMs).pipe(
    startWith(-1),
    map(() => ({ type: "TICK" as const, at: Date.now() })),
  );
}
