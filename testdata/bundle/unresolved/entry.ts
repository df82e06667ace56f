import { pad } from "left-pad-not-installed";

export function upgradeState(state: string): string {
  return pad(state);
}

export function upgradeContext(context: object) {
  return context;
}
