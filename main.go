// Command sbdeploy deploys StateBacked code from CI: it bundles a
// TypeScript migration or machine version with esbuild, checks it, and
// provisions, uploads and finalizes it through the StateBacked API; it can
// also delete a machine on exact confirmation. It runs as a GitHub Action
// (inputs from INPUT_<NAME>, outputs to $GITHUB_OUTPUT) and as a plain
// command in any CI, where every input is a flag. "sbdeploy demo" deploys
// an example to a local emulator of the API; "sbdeploy emulator" runs one.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"sbdeploy/internal/worker"
)

// version is set by the release build (-ldflags "-X main.version=v1.2.3");
// otherwise it comes from the module's build information.
var version = ""

// memoryLimit bounds the heap: far above what a deploy holds, far below a
// CI runner's memory.
const memoryLimit = 1 << 30

func main() {
	// The worker that bundles and evaluates the code: nothing of the
	// program's set-up applies to it (internal/worker).
	if len(os.Args) == 2 && os.Args[1] == worker.Arg {
		os.Exit(worker.Serve(os.Stdin, os.Stdout))
	}
	// A deploy runs the collector less often than Go's default (its worker
	// bundles without it). GOGC or GOMEMLIMIT, if set, win; the
	// long-running emulator keeps Go's defaults. BENCHMARKS.md has the
	// measurements.
	if tuneGC() {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func tuneGC() bool {
	return os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" && (len(os.Args) < 2 || os.Args[1] != "emulator")
}
