//go:build !race

package validate

// pauseLoops is how many empty loop iterations make a pause of a few
// milliseconds in the engine (see race_test.go).
const pauseLoops = 30_000

// raceSlowdown is how much longer than DefaultTimeout the engine may take:
// without the race detector, the engine runs at full speed.
const raceSlowdown = 1
