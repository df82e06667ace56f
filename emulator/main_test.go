package emulator_test

import (
	"testing"

	"sbdeploy/internal/testkit"
)

// TestMain runs 4 parallel tests at once on a small machine: these tests
// mostly wait on loopback connections, and some on purpose (a Hang fault
// holds a request until the client gives up), so go test's default, one
// per core, leaves cores idle (BENCHMARKS.md, The test suite).
func TestMain(m *testing.M) { testkit.Main(m, testkit.Parallel(4)) }
