// Migrates instances of the "toggle" machine from version 1 to version 2:
// the states "on"/"off" become "enabled"/"disabled", and the context gains
// a count of switches.
import { renamed } from "../src/states";

type ContextV1 = { lastSwitchedAt?: string };
type ContextV2 = ContextV1 & { switches: number };

// upgradeState is called with each leaf state of an instance, as the keys
// from the root, and returns where that state is in version 2.
export function upgradeState(path: string[]): string[] {
  const [top, ...rest] = path;
  return [renamed[top] ?? top, ...rest];
}

// upgradeContext is called with the instance's old and new leaf states
// and its context, and returns the context for version 2.
export function upgradeContext(_olds: string[][], _news: string[][], context: ContextV1): ContextV2 {
  return { ...context, switches: 0 };
}
