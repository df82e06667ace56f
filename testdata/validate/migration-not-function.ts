// upgradeState is a version number rather than a function.
export const upgradeState = 2;

export function upgradeContext(context: object): object {
  return context;
}
