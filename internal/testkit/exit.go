package testkit

import (
	"os"
	"syscall"
)

// Exit ends a test binary with code, the result of m.Run.
//
// Under -race, os.Exit(0) first waits for the race runtime's
// atexit_sleep_ms (one second by default), so that goroutines still running
// can report a race, and then exits 66 if any race was reported. A passing
// race binary of a package whose code leaves no work running once a test
// has ended skips that wait: Exit checks the race count itself, which
// covers races reported in the tests and after them, in TestMain. For
// packages whose code leaves work running on purpose, Main first waits for
// that work (LeavesWork).
func Exit(code int) {
	if code == 0 && raceEnabled && raceErrors() == 0 {
		syscall.Exit(0)
	}
	os.Exit(code)
}
