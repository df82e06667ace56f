// States of the "toggle" machine, as version 1 and version 2 name them.
export const enum V1 {
  On = "on",
  Off = "off",
}

export const renamed: Record<string, string> = {
  on: "enabled",
  off: "disabled",
};
