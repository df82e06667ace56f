package action

import (
	"os"
	"testing"

	"sbdeploy/internal/worker"
)

// TestMain: started with worker.Arg, the test binary is the worker that
// testWorker starts, as the program is its own.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == worker.Arg {
		os.Exit(worker.Serve(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
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
