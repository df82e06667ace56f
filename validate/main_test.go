package validate_test

import (
	"testing"

	"sbdeploy/internal/testkit"
)

// TestMain: a Check past its time limit returns and leaves the engine to
// stop in the background.
func TestMain(m *testing.M) { testkit.Main(m, testkit.LeavesWork) }
