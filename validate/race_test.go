//go:build race

package validate

// raceSlowdown is how much longer than DefaultTimeout the engine may take:
// the race detector makes the engine up to ten times slower.
const raceSlowdown = 10
