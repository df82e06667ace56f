package testkit

import (
	"os"
	"syscall"
)

// Exit ends a test binary with code, the result of m.Run.
//
// Under -race, os.Exit(0) first sleeps for the race runtime's
// atexit_sleep_ms (one second by default) so that goroutines still running
// can report a race. m.Run has already failed the run for every race
// reported, in a test or outside one, and a goroutine still running after
// m.Run is a leak that the sleep would not catch. So a passing race binary
// exits at once; every other exit goes through os.Exit, with its hooks.
func Exit(code int) {
	if code == 0 && raceEnabled {
		syscall.Exit(0)
	}
	os.Exit(code)
}
