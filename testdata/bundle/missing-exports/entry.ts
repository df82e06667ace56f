export function upgradeState(state: string): string {
  return state;
}

export const version = 2;
