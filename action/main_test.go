package action

import (
	"os"
	"testing"

	"sbdeploy/internal/testkit"
	"sbdeploy/internal/worker"
)

// TestMain runs 4 parallel tests at once on a small machine: many of these
// tests wait (on the emulator, on a hang until the attempt's time limit, on
// the run's timeout), so go test's default, one per core, leaves cores idle
// (BENCHMARKS.md, The test suite). Runs cut off by their time limit leave
// a build or an evaluation to stop in the background. Started with
// worker.Arg, the test binary is the worker that testWorker starts, as the
// program is its own.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == worker.Arg {
		os.Exit(worker.Serve(os.Stdin, os.Stdout))
	}
	testkit.Main(m, testkit.Parallel(4), testkit.LeavesWork)
}

// testWorker starts this test binary as the worker, as Process.Worker
// does with the program.
func testWorker() (*worker.Worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return worker.Start(exe)
}
