package action

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"sbdeploy/deploy"
)

// rolloutOutputs are what a rollout writes.
var rolloutOutputs = []string{"upgraded-instances", "stranded-instances", "failed-instances"}

// upgradeMode asks every instance of the machine to move to to-version.
func modeUpgrade() *mode {
	return &mode{
		name:             "upgrade",
		usage:            "ask every instance to move to a version (to-version)",
		inputs:           []string{"to-version", "max-concurrency"},
		dryRunNeedsToken: true,
		load: func(c *config, l loading) {
			requireVersion(l.errs, "to-version", c.to, "for an upgrade (the version to move instances to)")
			c.upgrade = true
			c.loadConcurrency(l)
		},
		run:     (*deployer).upgrade,
		titles:  titles{done: "Upgraded instances", dryRun: "Upgrade dry run: no instance was asked to move", failed: "Upgrade failed"},
		rows:    (*report).rolloutRows,
		outputs: rolloutOutputs,
	}
}

// rolloutInputs are the inputs of a rollout after a deploy.
var rolloutInputs = []string{"upgrade-instances", "max-concurrency"}

// loadConcurrency checks the max-concurrency input.
func (c *config) loadConcurrency(l loading) {
	c.concurrency = wholeNumber(l.src, l.errs, "max-concurrency", 1, deploy.MaxMaxConcurrency, fmt.Sprintf(
		"is not a number from 1 to %d: the most requests in flight while instances are asked to move (default %d)", deploy.MaxMaxConcurrency, deploy.DefaultMaxConcurrency))
	if !c.upgrade && l.src.given("max-concurrency") {
		l.errs.add("max-concurrency", "bounds the requests of a rollout, which this run does not do: set %s, or remove %s",
			c.names.setting("upgrade-instances", "true"), c.names.input("max-concurrency"))
	}
}

// upgrade moves every instance of the machine to to-version: mode upgrade.
func (d *deployer) upgrade(ctx context.Context) error {
	client, err := d.connect()
	if err != nil {
		return err
	}
	return d.rollout(ctx, client, d.cfg.to)
}

// rollout asks every instance that does not run version to move to it,
// with at most max-concurrency requests in flight, and writes the outputs
// that say what happened, also when it failed part of the way. On a dry
// run it lists and counts, and asks none.
func (d *deployer) rollout(ctx context.Context, client *deploy.Client, version string) error {
	start := d.tune.now()
	var now deploy.RolloutProgress
	say := d.progress(func(int) {
		answered := now.Asked + now.Stranded + now.Failed
		d.log.infof("%d instances asked so far (%.0f a second), %d in flight, %d stranded, %d failed",
			answered, perSecond(answered, d.tune.now().Sub(start)), now.InFlight, now.Stranded, now.Failed)
	})
	res, err := client.Rollout(ctx, deploy.Rollout{
		Machine: d.cfg.machine, To: version, DryRun: d.cfg.dryRun, MaxConcurrency: d.cfg.concurrency,
		Progress: func(p deploy.RolloutProgress) { now = p; say(0) },
	})
	d.rep.rollout, d.rep.rolloutTo = &res, version
	if res.Stranded > 0 {
		d.log.warnf("%d instances have no migration path to %s and stay on their version: %s", res.Stranded, version, named(res.StrandedNames, res.Stranded))
	}
	if res.Failed > 0 {
		d.log.warnf("%d instances could not be asked to move to %s, every attempt failed: %s", res.Failed, version, named(res.FailedNames, res.Failed))
	}
	upgraded := res.Asked
	if d.cfg.dryRun {
		upgraded = 0
	}
	outputs := []output{
		{"upgraded-instances", strconv.Itoa(upgraded)},
		{"stranded-instances", strconv.Itoa(res.Stranded)},
		{"failed-instances", strconv.Itoa(res.Failed)},
	}
	if werr := d.writeOutputs(outputs); werr != nil {
		return werr
	}
	d.log.group("upgrade",
		fmt.Sprintf("%d instances listed: %s", res.Instances, byVersion(res.Before)),
		fmt.Sprintf("%d asked to move to %s, %d skipped as on it already, %d stranded, %d failed", res.Asked, version, res.OnTarget, res.Stranded, res.Failed),
		rate(&res, ""),
		"took "+ms(d.tune.now().Sub(start)))
	switch {
	case errors.Is(err, deploy.ErrInstancesFailed):
		return fmt.Errorf("the rollout to %s asked every other instance; %w: run the step again to ask them again (instances on %s already are skipped)", version, err, version)
	case err != nil:
		left := res.Instances - res.OnTarget - res.Asked - res.Stranded - res.Failed
		return fmt.Errorf("the rollout to %s stopped after asking %d instances to move (%d on it already, %d stranded, %d failed, %d listed and not yet asked, of %d listed); "+
			"run the step again to continue from there, as instances on %s already are skipped: %w",
			version, res.Asked, res.OnTarget, res.Stranded, res.Failed, left, res.Instances, version, err)
	case d.cfg.dryRun:
		d.log.noticef("dry run: would ask %d instances of machine %s to move to %s; none was asked", res.Asked, d.cfg.machine, version)
	case res.OnTarget > 0:
		d.log.infof("skipped %d instances already on %s", res.OnTarget, version)
	}
	return nil
}

// named shows names, the first of n, and how many more there are.
func named(names []string, n int) string {
	s := strings.Join(names, ", ")
	if more := n - len(names); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// rate says how fast a rollout answered its instances and how the API
// pushed back; after follows the rate (the summary's " over <time>").
func rate(res *deploy.RolloutResult, after string) string {
	th := res.Throttling
	return fmt.Sprintf("%.0f instances a second%s; %d requests, %d answered 429 (longest pause %v), %d answered 503; at most %d in flight",
		perSecond(res.Asked+res.Stranded+res.Failed, res.Took), after, th.Attempts, th.TooMany, th.LongestPause, th.Unavailable, th.PeakLimit)
}

// perSecond is n over d, per second; 0 for no time.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// byVersion shows instance counts by version, in version order.
func byVersion(counts map[string]int) string {
	if len(counts) == 0 {
		return "none"
	}
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", cmp.Or(v, "(version not given)"), counts[v]))
	}
	return strings.Join(parts, ", ")
}
