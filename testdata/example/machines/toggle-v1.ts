// Version 1 of the "toggle" machine, as ver_toggle_1 was deployed: the
// states are "on" and "off". Kept for the migration check
// (from-machine-file); a workflow would check it out from the commit that
// deployed it instead.
import { assign, createMachine } from "xstate";

type Context = { lastSwitchedAt?: string };

export default createMachine<Context>({
  id: "toggle",
  initial: "off",
  context: {},
  states: {
    off: { on: { toggle: { target: "on", actions: "stamp" } } },
    on: { on: { toggle: { target: "off", actions: "stamp" } } },
  },
}).withConfig({
  actions: {
    stamp: assign({ lastSwitchedAt: () => new Date().toISOString() }),
  },
});

export const allowRead = ({ machineInstanceName, authContext }: { machineInstanceName: string; authContext: { sub?: string } }) =>
  machineInstanceName === authContext.sub;

export const allowWrite = allowRead;
