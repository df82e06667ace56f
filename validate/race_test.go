//go:build race

package validate

// pauseLoops is how many empty loop iterations make a pause of a few
// milliseconds in the engine: the race detector makes each about ten times
// slower.
const pauseLoops = 3_000

// raceSlowdown is how much longer than DefaultTimeout the engine may take:
// the race detector makes the engine up to ten times slower.
const raceSlowdown = 10
