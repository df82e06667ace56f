package emulator_test

import (
	"os"
	"testing"

	"sbdeploy/internal/testkit"
)

// TestMain runs 4 parallel tests at once on a small machine: these tests
// mostly wait on loopback connections, and some on purpose (a Hang fault
// holds a request until the client gives up). With go test's default, one
// per core, the package took 3.6 s on 2 cores, against 2.9 s.
func TestMain(m *testing.M) { os.Exit(testkit.MainWaiting(m, 4)) }
