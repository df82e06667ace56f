package action

import (
	"testing"

	"sbdeploy/internal/testkit"
)

// TestMain runs 4 parallel tests at once on a small machine: many of these
// tests wait (on the emulator, on a hang until the attempt's time limit, on
// the run's timeout), so go test's default, one per core, leaves cores idle
// (BENCHMARKS.md, The test suite). Runs cut off by their time limit leave
// a build or an evaluation to stop in the background.
func TestMain(m *testing.M) { testkit.Main(m, testkit.Parallel(4), testkit.LeavesWork) }
