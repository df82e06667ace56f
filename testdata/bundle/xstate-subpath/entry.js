import { createMachine } from "xstate";
import { raise } from "xstate/actions";

export const upgradeState = (s) => s;
export const upgradeContext = (c) => ({ c, createMachine, raise });
