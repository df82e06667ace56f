//go:build !race

package validate

// raceSlowdown is how much longer than DefaultTimeout the engine may take:
// without the race detector, the engine runs at full speed.
const raceSlowdown = 1
