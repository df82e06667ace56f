package action

import (
	"os"
	"testing"

	"sbdeploy/internal/testkit"
)

// TestMain runs 4 parallel tests at once on a small machine: many of these
// tests wait (on the emulator, on a hang until the attempt's time limit, on
// the run's timeout). With go test's default, one per core, the package
// took 4.4 s on 2 cores, against 3.7 s.
func TestMain(m *testing.M) { os.Exit(testkit.MainWaiting(m, 4)) }
