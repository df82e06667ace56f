// A transition targets the state "nope", which does not exist: createMachine
// accepts it, and machine.definition throws.
import { createMachine } from "xstate";

export default createMachine({
  id: "toggle",
  predictableActionArguments: true,
  initial: "off",
  states: { off: { on: { toggle: "nope" } }, on: { on: { toggle: "off" } } },
});

export const allowRead = () => true;
export const allowWrite = () => true;
