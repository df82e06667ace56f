package action

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"sbdeploy/bundle"
	"sbdeploy/deploy"
	"sbdeploy/internal/worker"
	"sbdeploy/validate"
)

// tuning are the values a test shortens: one attempt's time limit, the
// bundle's size limits, the evaluation's bounds, the clock, and how the
// client waits between attempts.
type tuning struct {
	requestTimeout time.Duration
	limits         bundle.Limits // zero: the service's
	validate       validate.Options
	now            func() time.Time
	sleep          func(context.Context, time.Duration) error // nil: deploy's own
}

// option changes a field of tuning; the tests have one for each field.
type option func(*tuning)

// deployer is one run of a mode: the checked inputs, where to log and
// report, and how to reach the API. Each mode is a method.
type deployer struct {
	cfg     *config
	log     *logger
	rep     *report
	tune    tuning
	getenv  func(string) string
	version string // of this program, for the User-Agent
	// startWorker is Process.Worker; worker is what it started, in a mode
	// that deploys code.
	startWorker func() (*worker.Worker, error)
	worker      *worker.Worker
	// deployment is where the ID of the GitHub deployment being created
	// beside the deploy arrives (0 if it could not be created); nil if none is.
	deployment chan int64
}

// connect returns a client for the API. With a key it first mints the
// run's token, hidden before anything could print it; the client hides every
// secret it learns from the server the same way, and logs each retry.
func (d *deployer) connect() (*deploy.Client, error) {
	token := d.cfg.auth.token
	if d.cfg.auth.source == tokenKey {
		sub := cmp.Or(d.getenv("GITHUB_REPOSITORY"), "sbdeploy")
		var err error
		token, err = deploy.MintToken(d.cfg.auth.key, map[string]any{"sub": sub}, d.cfg.tokenLifetime, d.tune.now())
		if err != nil {
			return nil, fmt.Errorf("mint a token from %s and %s: %w", d.cfg.names.input("key-id"), d.cfg.names.input("secret-key"), err)
		}
		d.log.addSecret(token)
		d.log.debugf("minted a token from key %s, valid for %s", d.cfg.auth.key.ID, d.cfg.tokenLifetime)
	}
	opts := []deploy.Option{
		deploy.WithOrgID(d.cfg.orgID),
		deploy.WithUserAgent("sbdeploy/" + d.version),
		deploy.WithAttempts(d.cfg.attempts),
		deploy.WithRequestTimeout(d.tune.requestTimeout),
		deploy.WithSecretNotify(d.log.addSecret),
		deploy.WithRetryNotify(d.logRetry),
	}
	if d.tune.sleep != nil {
		opts = append(opts, deploy.WithSleep(d.tune.sleep))
	}
	return deploy.New(d.cfg.apiURL, token, opts...)
}

// logRetry logs a failed attempt that will be retried.
func (d *deployer) logRetry(e deploy.RetryEvent) {
	if e.Reprovision {
		d.log.infof("upload: refused (%s); the presigned upload may have expired: provisioning again", firstLine(e.Err.Error()))
		return
	}
	d.log.infof("%s: attempt %d of %d failed (%s); retrying in %s", e.Step, e.Attempt, e.Attempts, firstLine(e.Err.Error()), ms(e.Wait))
}
