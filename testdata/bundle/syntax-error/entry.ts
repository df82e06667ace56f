export function upgradeState(state: string): string {
  return state;
}

export function upgradeContext(context: object) {
  return { ...context ;
}
