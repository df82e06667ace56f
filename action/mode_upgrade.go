package action

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"sbdeploy/deploy"
)

// rolloutOutputs are what a rollout writes.
var rolloutOutputs = []string{"upgraded-instances", "stranded-instances"}

// upgradeMode asks every instance of the machine to move to to-version.
func modeUpgrade() *mode {
	return &mode{
		name:             "upgrade",
		usage:            "ask every instance to move to a version (to-version)",
		inputs:           []string{"to-version"},
		dryRunNeedsToken: true,
		load: func(c *config, l loading) {
			requireVersion(l.errs, "to-version", c.to, "for an upgrade (the version to move instances to)")
			c.upgrade = true
		},
		run:    (*deployer).upgrade,
		titles: titles{done: "Upgraded instances", dryRun: "Upgrade dry run: no instance was asked to move", failed: "Upgrade failed"},
		rows: func(r *report, redact func(string) string) []row {
			return append([]row{{"Machine", code(redact, r.cfg.machine)}}, r.rolloutRows(redact)...)
		},
		outputs: rolloutOutputs,
	}
}

// upgrade moves every instance of the machine to to-version: mode upgrade.
func (d *deployer) upgrade(ctx context.Context) error {
	client, err := d.connect()
	if err != nil {
		return err
	}
	outputs, err := d.rollout(ctx, client, d.cfg.to)
	if err != nil {
		return err
	}
	return d.writeOutputs(outputs)
}

// rollout asks every instance that does not run version to move to it, and
// returns the outputs that say what happened. On a dry run it lists and
// counts, and asks none.
func (d *deployer) rollout(ctx context.Context, client *deploy.Client, version string) ([]output, error) {
	start := d.tune.now()
	res, err := client.Rollout(ctx, deploy.Rollout{
		Machine: d.cfg.machine, To: version, DryRun: d.cfg.dryRun,
		Progress: d.progress(func(asked int) { d.log.infof("asked %d instances so far to move to %s", asked, version) }),
	})
	d.rep.rollout, d.rep.rolloutTo = &res, version
	if res.Stranded > 0 {
		names := strings.Join(res.StrandedNames, ", ")
		if more := res.Stranded - len(res.StrandedNames); more > 0 {
			names += fmt.Sprintf(" and %d more", more)
		}
		d.log.warnf("%d instances have no migration path to %s and stay on their version: %s", res.Stranded, version, names)
	}
	if err != nil {
		return nil, fmt.Errorf("the rollout to %s stopped after asking %d instances to move (%d stranded, %d on it already): %w",
			version, res.Asked, res.Stranded, res.OnTarget, err)
	}
	d.log.group("upgrade",
		fmt.Sprintf("%d instances listed: %s", res.Instances, byVersion(res.Before)),
		fmt.Sprintf("%d asked to move to %s, %d on it already, %d stranded", res.Asked, version, res.OnTarget, res.Stranded),
		"took "+ms(d.tune.now().Sub(start)))
	upgraded := res.Asked
	if d.cfg.dryRun {
		d.log.noticef("dry run: would ask %d instances of machine %s to move to %s; none was asked", res.Asked, d.cfg.machine, version)
		upgraded = 0
	}
	return []output{
		{"upgraded-instances", strconv.Itoa(upgraded)},
		{"stranded-instances", strconv.Itoa(res.Stranded)},
	}, nil
}

// byVersion shows instance counts by version, in version order.
func byVersion(counts map[string]int) string {
	if len(counts) == 0 {
		return "none"
	}
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(counts)) {
		name := v
		if name == "" {
			name = "(version not given)"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, counts[v]))
	}
	return strings.Join(parts, ", ")
}
