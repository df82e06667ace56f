export enum Mode {
  Old = "old",
  New = "new",
}

export class Counter {
  constructor(readonly value: number) {}
}
