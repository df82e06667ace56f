// A top-level loop that never ends.
import { createMachine } from "xstate";

let n = 0;
for (;;) {
  n++;
}

export default createMachine({ id: "never", initial: "a", states: { a: {} } });
export const allowRead = () => n > 0;
export const allowWrite = () => false;
