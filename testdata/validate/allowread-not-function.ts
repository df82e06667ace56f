// allowRead is a boolean rather than a function that returns one.
import { createMachine } from "xstate";

export default createMachine({
  id: "toggle",
  predictableActionArguments: true,
  initial: "off",
  states: { off: { on: { toggle: "on" } }, on: { on: { toggle: "off" } } },
});

export const allowRead = true;
export const allowWrite = () => true;
