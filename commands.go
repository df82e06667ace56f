package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"slices"

	"sbdeploy/action"
	"sbdeploy/internal/worker"
)

// run runs the subcommand that args name (demo, emulator, help, version), or the
// action, and returns the exit code.
func run(ctx context.Context, args []string) int {
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: the working directory: %v\n", err)
		return 1
	}
	p := action.Process{Args: args, Getenv: os.Getenv, Environ: os.Environ, Dir: dir, Stdout: os.Stdout, Stderr: os.Stderr,
		Version: programVersion(), Worker: startWorker}
	if len(args) == 0 || !slices.Contains([]string{"demo", "emulator", "help", "version"}, args[0]) {
		// The action: its worker starts now, so that its start-up overlaps
		// reading the inputs and connecting to the API.
		w, err := startWorker()
		if w != nil {
			defer w.Close()
		}
		p.Worker = func() (*worker.Worker, error) { return w, err }
		return action.Main(ctx, p)
	}
	sub := p
	sub.Args = args[1:]
	switch args[0] {
	case "demo":
		return report(p, "demo", demo(ctx, sub))
	case "emulator":
		return report(p, "emulator", serveEmulator(ctx, sub))
	case "help":
		if len(sub.Args) > 0 {
			return report(p, "help", usageErr("takes no arguments"))
		}
		sub.Args = []string{"--help"}
		return action.Main(ctx, sub)
	case "version":
		if len(sub.Args) > 0 {
			return report(p, "version", usageErr("takes no arguments"))
		}
		fmt.Fprintf(p.Stdout, "sbdeploy %s\n", p.Version)
		return 0
	}
	return action.Main(ctx, p)
}

// startWorker starts this program as the worker that bundles and
// evaluates the code.
func startWorker() (*worker.Worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program, to start its worker: %w", err)
	}
	return worker.Start(exe)
}

// usageErr is a subcommand's usage error: exit code 2.
type usageErr string

func (e usageErr) Error() string { return string(e) }

// report prints a subcommand's error and returns its exit code: 2 for a
// usage error, 1 for any other.
func report(p action.Process, cmd string, err error) int {
	switch err.(type) {
	case nil:
		return 0
	case usageErr:
		fmt.Fprintf(p.Stderr, "sbdeploy %s: %v (see sbdeploy --help)\n", cmd, err)
		return 2
	}
	fmt.Fprintf(p.Stderr, "sbdeploy %s: %v\n", cmd, err)
	return 1
}

// programVersion is the version this binary was built as.
func programVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
