//go:build race

package worker

// raceScale is how many times the memory a worker built with the race
// detector needs for the same work.
const raceScale = 4
