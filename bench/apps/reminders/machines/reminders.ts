// The "reminders" machine: a user's reminders, which fall due on a clock,
// repeat, and can be snoozed or dismissed. Only the user the instance is
// named for may read or change it.
import { assign, createMachine } from "xstate";
import { isDue, nextDue, snooze, type Reminder, type Repeat } from "../src/schedule";
import { ticker, type Tick } from "../src/ticker";

type Context = { reminders: Reminder[]; due: string[]; fired: number };

type Event =
  | Tick
  | { type: "ADD"; id: string; text: string; dueAt: string; repeat?: Repeat }
  | { type: "SNOOZE"; id: string; minutes: number }
  | { type: "DISMISS"; id: string }
  | { type: "PAUSE" }
  | { type: "RESUME" };

export default createMachine<Context, Event>(
  {
    id: "reminders",
    predictableActionArguments: true,
    initial: "idle",
    context: { reminders: [], due: [], fired: 0 },
    states: {
      idle: {
        always: { target: "watching", cond: "hasReminders" },
        on: { ADD: { target: "watching", actions: "add" } },
      },
      watching: {
        invoke: { src: "clock" },
        always: { target: "idle", cond: "isEmpty" },
        on: {
          TICK: { actions: "fire" },
          ADD: { actions: "add" },
          SNOOZE: { actions: "snooze" },
          DISMISS: { actions: "dismiss" },
          PAUSE: "paused",
        },
      },
      paused: {
        on: { RESUME: "watching", ADD: { actions: "add" }, DISMISS: { actions: "dismiss" } },
      },
    },
  },
  {
    guards: {
      hasReminders: (ctx) => ctx.reminders.length > 0,
      isEmpty: (ctx) => ctx.reminders.length === 0,
    },
    services: {
      clock: () => ticker(),
    },
    actions: {
      add: assign({
        reminders: (ctx, e) =>
          e.type === "ADD"
            ? [...ctx.reminders, { id: e.id, text: e.text, dueAt: e.dueAt, repeat: e.repeat ?? "none", snoozes: 0 }]
            : ctx.reminders,
      }),
      snooze: assign({
        reminders: (ctx, e) =>
          e.type === "SNOOZE" ? ctx.reminders.map((r) => (r.id === e.id ? snooze(r, e.minutes) : r)) : ctx.reminders,
      }),
      dismiss: assign({
        reminders: (ctx, e) => (e.type === "DISMISS" ? ctx.reminders.filter((r) => r.id !== e.id) : ctx.reminders),
        due: (ctx, e) => (e.type === "DISMISS" ? ctx.due.filter((id) => id !== e.id) : ctx.due),
      }),
      fire: assign((ctx, e) => {
        const now = new Date(e.type === "TICK" ? e.at : Date.now());
        const due = ctx.reminders.filter((r) => isDue(r, now));
        if (due.length === 0) {
          return ctx;
        }
        const reminders = ctx.reminders.flatMap((r) => {
          if (!due.includes(r)) return [r];
          const next = nextDue(r);
          return next ? [{ ...r, dueAt: next, snoozes: 0 }] : [];
        });
        return { reminders, due: [...ctx.due, ...due.map((r) => r.id)], fired: ctx.fired + due.length };
      }),
    },
  },
);

type AuthArgs = { machineInstanceName: string; authContext: { sub?: string } };

export function allowRead({ machineInstanceName, authContext }: AuthArgs): boolean {
  return authContext.sub !== undefined && machineInstanceName === authContext.sub;
}

export function allowWrite(args: AuthArgs): boolean {
  return allowRead(args);
}
