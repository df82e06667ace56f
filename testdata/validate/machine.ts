// A valid machine version: the default export is an XState machine whose
// targets all exist, and allowRead and allowWrite are functions.
import { assign, createMachine } from "xstate";

type Context = { switches: number };

export default createMachine<Context>({
  id: "toggle",
  predictableActionArguments: true,
  initial: "off",
  context: { switches: 0 },
  states: {
    off: { on: { toggle: { target: "on", actions: "count" } } },
    on: {
      initial: "idle",
      states: { idle: { after: { 1000: "busy" } }, busy: { on: { rest: "idle" } } },
      on: { toggle: { target: "off", actions: "count" } },
    },
  },
}).withConfig({
  actions: {
    count: assign({ switches: (context: Context) => context.switches + 1 }),
  },
});

type AuthArgs = { machineInstanceName: string; authContext: { sub?: string } };

export function allowRead({ machineInstanceName, authContext }: AuthArgs): boolean {
  return machineInstanceName === authContext.sub;
}

export const allowWrite = (args: AuthArgs) => allowRead(args);
