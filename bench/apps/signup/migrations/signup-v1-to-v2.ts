// Migrates instances of the "signup" machine from version 1 to version 2:
// the profile is nested, the plan is one of a closed set, the trial's end
// is stored rather than its length, and three states are renamed. It uses
// zod to check both shapes and date-fns for the dates.
import type { StateValue } from "xstate";
import { addDays, differenceInCalendarDays, formatISO, isValid, parseISO } from "date-fns";
import { ContextV1, ContextV2, renamedStates } from "../src/schema";
import { normalizePlan } from "../src/plans";

export function upgradeState(state: StateValue): StateValue {
  if (typeof state === "string") {
    return renamedStates[state] ?? state;
  }
  return Object.fromEntries(
    Object.entries(state).map(([key, value]) => [renamedStates[key] ?? key, upgradeState(value as StateValue)]),
  );
}

export function upgradeContext(raw: unknown, now: Date = new Date()): ContextV2 {
  const ctx = ContextV1.parse(raw);
  const started = parseISO(ctx.signed_up_at);
  if (!isValid(started)) {
    throw new Error(`signed_up_at is not a date: ${ctx.signed_up_at}`);
  }
  const ends = addDays(started, ctx.trial_days);
  return ContextV2.parse({
    profile: { email: ctx.email.toLowerCase(), name: ctx.full_name.trim(), company: ctx.company ?? null },
    plan: normalizePlan(ctx.plan, ctx.seats),
    seats: ctx.seats,
    trial: {
      startedAt: formatISO(started),
      endsAt: formatISO(ends),
      daysLeft: Math.max(0, differenceInCalendarDays(ends, now)),
    },
    consent: { marketing: ctx.marketing_opt_in === true || ctx.marketing_opt_in === "yes", recordedAt: formatISO(started) },
    referral: ctx.referral,
  });
}
