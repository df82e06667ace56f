// Command sbdeploy deploys a StateBacked machine version migration from
// TypeScript source in one step: it bundles the entry point with esbuild into
// one ES module, checks its exports and size, gzips it, provisions the
// migration, uploads the code to the presigned URL, finalizes, and writes the
// migration ID as an output.
//
// It runs as a GitHub Action (inputs from INPUT_<NAME>, outputs to
// $GITHUB_OUTPUT) and as a plain command in any CI, where every input is a
// flag; "sbdeploy demo" deploys an example to a local emulator of the API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/sethvargo/go-githubactions"

	"sbdeploy/bundle"
	"sbdeploy/deploy"
)

func main() {
	// A deploy is one short burst of allocation, most of it esbuild's syntax
	// trees, live until the process exits: the default GOGC=100 spends its
	// time marking memory it cannot free. The esbuild CLI turns the GC off for
	// one-shot builds; 400 measured as fast or faster here (5-12% less wall
	// time than 100 on 500- to 2,000-module apps, see BENCHMARKS.md) with
	// less memory than off. GOGC, if set, wins; the long-running emulator
	// keeps the default.
	if os.Getenv("GOGC") == "" && (len(os.Args) < 2 || os.Args[1] != "emulator") {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		os.Exit(1)
	}
}

// run is the whole program with the process's environment passed in. It
// reports its own errors to stdout/stderr; the error it returns only decides
// the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "demo":
			return demo(ctx, args[1:], getenv, stdout, stderr)
		case "emulator":
			return serveEmulator(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	flags, err := parseFlags(args, stderr)
	if err != nil {
		return err // the flag package has printed it, with the usage
	}
	src := source{flags: flags, action: githubactions.New(githubactions.WithGetenv(getenv))}
	// Every secret is masked before anything else is printed.
	log := newLogger(getenv("GITHUB_ACTIONS") == "true", stdout, stderr, getenv,
		src.get("token"), getenv("STATEBACKED_TOKEN"), src.get("secret-key"))

	cwd, err := os.Getwd()
	if err != nil {
		log.fail(err)
		return err
	}
	cfg, err := loadConfig(src, getenv, cwd)
	if err != nil {
		log.fail(err)
		return err
	}
	if cfg.key.ID != "" {
		if err := mintToken(cfg, log, getenv); err != nil {
			log.fail(err)
			return err
		}
	}
	if cfg.workspaceMissing != "" {
		log.debugf("GITHUB_WORKSPACE %s does not exist here; using the working directory %s as the workspace", cfg.workspaceMissing, cfg.workspace)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	rep := &report{cfg: cfg, started: time.Now()}
	if cfg.mode == modeTeardown {
		err = teardown(ctx, cfg, log, rep)
	} else {
		err = deployCode(ctx, cfg, log, rep)
	}
	if err != nil {
		err = explainContext(ctx, err, cfg.timeout)
		log.fail(err)
		rep.err = err
	}
	rep.writeSummary(log)
	return err
}

// mintToken makes the run's token from the key, and masks it before it
// could be printed. Its act claim names the repository, when there is one.
func mintToken(cfg *config, log *logger, getenv func(string) string) error {
	sub := getenv("GITHUB_REPOSITORY")
	if sub == "" {
		sub = "sbdeploy"
	}
	token, err := deploy.MintToken(cfg.key, map[string]any{"sub": sub}, cfg.tokenLifetime, time.Now())
	if err != nil {
		return fmt.Errorf("mint a token from key-id and secret-key: %w", err)
	}
	log.addSecret(token)
	cfg.token = token
	log.debugf("minted a token from key %s, valid for %s", cfg.key.ID, cfg.tokenLifetime)
	return nil
}

// retryWait is the first and the longest wait between attempts, and
// requestTimeout bounds each attempt; tests shorten them.
var (
	retryWait      = [2]time.Duration{500 * time.Millisecond, 10 * time.Second}
	requestTimeout = deploy.DefaultRequestTimeout
)

// newClient makes the API client for cfg; it logs each retry.
func newClient(cfg *config, log *logger) (*deploy.Client, error) {
	return deploy.New(cfg.apiURL, cfg.token,
		deploy.WithOrgID(cfg.orgID),
		deploy.WithAttempts(cfg.attempts),
		deploy.WithRetryWait(retryWait[0], retryWait[1]),
		deploy.WithRequestTimeout(requestTimeout),
		deploy.WithRetryNotify(func(e deploy.RetryEvent) {
			if e.Reprovision {
				log.infof("upload: refused (%s); the presigned upload may have expired: provisioning again", firstLine(e.Err.Error()))
				return
			}
			log.infof("%s: attempt %d of %d failed (%s); retrying in %s", e.Step, e.Attempt, e.Attempts, firstLine(e.Err.Error()), ms(e.Wait))
		}))
}

// annotateBuildErrors puts each esbuild error at its place in the source.
func annotateBuildErrors(log *logger, cfg *config, err error) {
	var be *bundle.BuildError
	if !errors.As(err, &be) {
		return
	}
	for _, m := range be.Messages {
		if m.File != "" {
			log.annotate("error", workspacePath(cfg, m.File), m.Line, m.Column, m.Text)
		}
	}
}

// workspacePath makes a path relative to the working directory relative to
// the workspace, as GitHub annotations need.
func workspacePath(cfg *config, file string) string {
	if rel, err := filepath.Rel(cfg.workspace, filepath.Join(cfg.dir, file)); err == nil {
		return filepath.ToSlash(rel)
	}
	return file
}

// explainContext says when an error came from the run's time limit or a
// cancellation rather than from the service.
func explainContext(ctx context.Context, err error, timeout time.Duration) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w\n  what to do: the whole run is limited to %s by the timeout input; raise it if the API is slow", err, timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("cancelled: %w", err)
	}
	return err
}

type output struct{ name, value string }

// writeOutputs writes step outputs to $GITHUB_OUTPUT, or prints them as
// name=value lines when there is no such file (a plain CLI run).
func writeOutputs(log *logger, outputs []output) (err error) {
	for _, o := range outputs {
		// A line break in a value could end it early and start another output.
		if strings.ContainsAny(o.value, "\r\n") {
			return fmt.Errorf("output %s: refusing to write a value with a line break: %q", o.name, o.value)
		}
	}
	if log.action.Getenv("GITHUB_OUTPUT") == "" {
		for _, o := range outputs {
			fmt.Fprintf(log.out, "%s=%s\n", o.name, o.value)
		}
		return nil
	}
	defer func() {
		if r := recover(); r != nil { // go-githubactions panics when the file cannot be written
			err = fmt.Errorf("write outputs to GITHUB_OUTPUT: %v", r)
		}
	}()
	for _, o := range outputs {
		log.action.SetOutput(o.name, o.value)
	}
	return nil
}
