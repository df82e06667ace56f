//go:build race

package testkit

import "runtime"

const raceEnabled = true

func raceErrors() int { return runtime.RaceErrors() }
