// Doubles a string at the top level. The doubling stops at 1 GiB, so that a
// broken memory bound costs a test machine at most a few GiB; the loop
// after it then ends the evaluation by timeout, which the test rejects.
let s = "x";
while (s.length < 2 ** 30) {
  s += s;
}
for (;;) {}

export const upgradeState = (state: unknown) => state + s;
export const upgradeContext = (context: unknown) => context;
