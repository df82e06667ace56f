// Package action is sbdeploy's action layer: it reads the inputs (INPUT_
// variables on GitHub Actions, flags anywhere else) into a checked config,
// runs the mode they name through the bundle and deploy packages, and writes
// the log, the outputs and the job summary, with every secret hidden.
//
// The data flows one way: inputs -> config -> bundle -> deploy -> outputs.
// Run takes everything it needs from its arguments, never from the process,
// so that any number of runs can go on at once in one test binary.
package action

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"sbdeploy/deploy"
	"sbdeploy/internal/worker"
)

// Process is what a run takes from the process it runs in.
type Process struct {
	Args    []string            // the command line, without the program's name
	Getenv  func(string) string // the environment
	Environ func() []string     // the environment as KEY=value lines, for INPUT_ variables that name no input
	Dir     string              // the working directory, absolute
	Stdout  io.Writer
	Stderr  io.Writer
	Version string // of this program
	// Worker starts (or hands over, started already) the worker process
	// that bundles and evaluates the code (internal/worker): a mode that
	// deploys code needs it, and closes it when done.
	Worker func() (*worker.Worker, error)
}

// secretInputs are the inputs and variables that hold secrets. They are
// hidden first, before anything at all is printed.
var secretInputs = []string{"INPUT_TOKEN", "INPUT_SECRET-KEY", "STATEBACKED_TOKEN", "INPUT_GITHUB-TOKEN", "GITHUB_TOKEN"}

// Main runs the action and returns the process's exit code.
func Main(ctx context.Context, p Process, opts ...option) int { return ExitCode(Run(ctx, p, opts...)) }

// Run is the whole action: it checks the inputs, runs the mode, and reports.
// It prints its own errors; the error it returns decides the exit code (see
// ExitCode).
func Run(ctx context.Context, p Process, opts ...option) error {
	tune := tuning{requestTimeout: deploy.DefaultRequestTimeout, now: time.Now}
	for _, opt := range opts {
		opt(&tune)
	}
	gha := p.Getenv("GITHUB_ACTIONS") == "true"
	log := newLogger(gha, p.Stdout, p.Stderr, p.Getenv)
	defer log.flush()
	for _, name := range secretInputs {
		log.addSecret(p.Getenv(name))
	}
	flags, err := parseFlags(p.Args)
	log.addSecret(flags["token"])
	log.addSecret(flags["secret-key"])
	log.addSecret(flags["github-token"])
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(log.out)
		return err
	case errors.Is(err, errVersion):
		fmt.Fprintf(log.out, "sbdeploy %s\n", p.Version)
		return err
	case err != nil:
		log.fail(err)
		return err
	}
	log.infof("sbdeploy %s", p.Version)
	var note string
	workspace := func() (ws string, err error) {
		ws, note, err = findWorkspace(p.Getenv, p.Dir)
		return ws, err
	}
	src := source{flags: flags, getenv: p.Getenv}
	if p.Environ != nil {
		src.environ = p.Environ()
	}
	if !gha {
		src.gitHead = func() string { return git(p.Getenv, p.Dir, "HEAD^{commit}") }
	}
	if p.Getenv("GITHUB_WORKSPACE") == "" {
		// The workspace is then found above the working directory, and a
		// person means paths relative to where they run the command.
		src.base = p.Dir
	}
	cfg, err := loadConfig(src, namer{flags: !gha}, workspace)
	if err == nil {
		err = checkFileCommands(p.Getenv)
	}
	if err != nil {
		log.fail(err)
		return err
	}
	if note != "" && gha {
		log.debugf("%s", note)
	} else if note != "" {
		log.infof("%s", note)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	rep := &report{cfg: cfg, started: tune.now(), now: tune.now, commit: p.Getenv("GITHUB_SHA"), runURL: runURL(p.Getenv)}
	d := &deployer{cfg: cfg, log: log, rep: rep, tune: tune, getenv: p.Getenv, version: p.Version, startWorker: p.Worker}
	if err = cfg.mode.run(d, ctx); err != nil {
		err = cfg.advise(ctx, err)
		log.fail(err)
		rep.err = err
	}
	rep.writeSummary(log, p.Getenv)
	d.tellGitHub(parent, err)
	return err
}
