//go:build !race

package testkit

const raceEnabled = false

func raceErrors() int { return 0 }
