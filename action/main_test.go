package action

import (
	"testing"

	"sbdeploy/internal/testkit"
)

// TestMain runs 4 parallel tests at once on a small machine: many of these
// tests wait (on the emulator, on a hang until the attempt's time limit, on
// the run's timeout), so go test's default, one per core, leaves cores idle
// (BENCHMARKS.md, The test suite).
func TestMain(m *testing.M) { testkit.MainWaiting(m, 4) }
