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
)

// version is set by the release build (-ldflags "-X main.version=v1.2.3");
// otherwise it comes from the module's build information.
var version = ""

func main() {
	// A deploy is one short burst of allocation, nearly all of it esbuild's
	// syntax trees, live until the process exits: a collector that runs less
	// often costs some memory and saves time (BENCHMARKS.md has the
	// measurements). GOGC, if set, wins; the long-running emulator keeps
	// the default.
	if os.Getenv("GOGC") == "" && (len(os.Args) < 2 || os.Args[1] != "emulator") {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
