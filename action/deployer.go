package action

import (
	"context"
	"fmt"
	"slices"
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

func defaultTuning() tuning {
	return tuning{
		requestTimeout: deploy.DefaultRequestTimeout,
		now:            time.Now,
	}
}

// option changes how Run works; tests use them to run fast.
type option func(*tuning)

// withRequestTimeout bounds each attempt of each request.
func withRequestTimeout(d time.Duration) option {
	return func(t *tuning) { t.requestTimeout = d }
}

// withBundleLimits replaces the service's size limits.
func withBundleLimits(l bundle.Limits) option {
	return func(t *tuning) { t.limits = l }
}

// withValidation bounds the evaluation of the code (zero fields: the
// validate package's defaults).
func withValidation(o validate.Options) option {
	return func(t *tuning) { t.validate = o }
}

// withSleep replaces how the client waits between attempts (see
// deploy.WithSleep).
func withSleep(sleep func(ctx context.Context, d time.Duration) error) option {
	return func(t *tuning) { t.sleep = sleep }
}

// withClock replaces time.Now.
func withClock(now func() time.Time) option {
	return func(t *tuning) { t.now = now }
}

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
	deployment  *pendingDeployment // the GitHub deployment, once begun
}

// run does what the mode says.
func (d *deployer) run(ctx context.Context) error { return d.cfg.mode.run(d, ctx) }

// connect returns a client for the API. With a key it first mints the
// run's token, hidden before anything could print it; the client hides every
// secret it learns from the server the same way, and logs each retry.
func (d *deployer) connect() (*deploy.Client, error) {
	token := d.cfg.auth.token
	if d.cfg.auth.source == tokenKey {
		sub := d.getenv("GITHUB_REPOSITORY")
		if sub == "" {
			sub = "sbdeploy"
		}
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

// writeOutputs writes step outputs, each of which must be one the mode's
// table lists: --help and action.yml say what the table says.
func (d *deployer) writeOutputs(outputs []output) error {
	for _, o := range outputs {
		if !slices.Contains(d.cfg.mode.outputs, o.name) {
			return fmt.Errorf("mode %s wrote output %s, which its table does not list", d.cfg.mode.name, o.name) // a mistake in this package
		}
	}
	return d.log.writeOutputs(d.getenv, outputs)
}
