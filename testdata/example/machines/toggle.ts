// Version 2 of the "toggle" machine: the states are "enabled" and
// "disabled" (version 1 called them "on" and "off"), and the context counts
// switches. xstate is provided by the platform: the bundle imports npm:xstate.
import { assign, createMachine } from "xstate";

type Context = { switches: number; lastSwitchedAt?: string };

export default createMachine<Context>({
  id: "toggle",
  initial: "disabled",
  context: { switches: 0 },
  states: {
    disabled: { on: { toggle: { target: "enabled", actions: "count" } } },
    enabled: { on: { toggle: { target: "disabled", actions: "count" } } },
  },
}).withConfig({
  actions: {
    count: assign({
      switches: (context: Context) => context.switches + 1,
      lastSwitchedAt: () => new Date().toISOString(),
    }),
  },
});

// Anyone signed in may read and switch their own toggle.
export const allowRead = ({ machineInstanceName, authContext }: { machineInstanceName: string; authContext: { sub?: string } }) =>
  machineInstanceName === authContext.sub;

export const allowWrite = allowRead;
