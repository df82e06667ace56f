// Migrates instances of the "toggle" machine from version 1 to version 2:
// the states "on"/"off" become "enabled"/"disabled", and the context gains
// a count of switches.
import type { StateValue } from "xstate";
import { renamed } from "../src/states";

type ContextV1 = { lastSwitchedAt?: string };
type ContextV2 = ContextV1 & { switches: number };

export function upgradeState(state: StateValue): StateValue {
  if (typeof state === "string") {
    return renamed[state] ?? state;
  }
  return Object.fromEntries(
    Object.entries(state).map(([key, value]) => [renamed[key] ?? key, value]),
  );
}

export function upgradeContext(context: ContextV1): ContextV2 {
  return { ...context, switches: 0 };
}
