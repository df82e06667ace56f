// A valid migration from a machine with states "on"/"off" to one with
// "enabled"/"disabled".
import type { StateValue } from "xstate";

const renamed: Record<string, string> = { on: "enabled", off: "disabled" };

export function upgradeState(state: StateValue): StateValue {
  return typeof state === "string" ? (renamed[state] ?? state) : state;
}

export function upgradeContext(context: object): object {
  return { ...context, switches: 0 };
}
