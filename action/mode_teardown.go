package action

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"sbdeploy/deploy"
)

// progressEvery is how often long work logs its progress (deployer.progress).
const progressEvery = 2 * time.Second

// teardownMode deletes the machine, on exact confirmation.
func modeTeardown() *mode {
	return &mode{
		name:             "teardown",
		usage:            "delete the machine (confirm-delete)",
		inputs:           append([]string{"confirm-delete", "delete-instances"}, deploymentInputs...),
		dryRunNeedsToken: true,
		load:             (*config).loadTeardown,
		run:              (*deployer).teardown,
		titles:           titles{done: "Teardown", dryRun: "Teardown dry run: nothing was deleted", failed: "Teardown failed"},
		rows:             (*report).teardownRows,
		outputs:          []string{"deleted", "deleted-instances"},
	}
}

// loadTeardown checks the confirmation: exactly the machine's name.
func (c *config) loadTeardown(l loading) {
	fix := fmt.Sprintf("set %s (exactly the machine name) to delete the machine %q "+
		"with all its versions, migrations and instances, for good", c.names.setting("confirm-delete", c.machine), c.machine)
	switch confirm := l.src.raw("confirm-delete"); {
	case confirm == "":
		l.errs.add("confirm-delete", "required for a teardown: %s", fix)
	case confirm != c.machine:
		l.errs.add("confirm-delete", "%s is not the machine name %q, to the letter: %s", quote(confirm), c.machine, fix)
	}
	c.deleteInstances = c.bool(l.src, "delete-instances", l.errs)
}

// teardown deletes the machine (and, when asked, its instances first), or on
// a dry run lists what would be deleted. The deleted and deleted-instances
// outputs say what really happened: false and 0 on a dry run.
func (d *deployer) teardown(ctx context.Context) error {
	client, err := d.connect()
	if err != nil {
		return err
	}
	res, err := client.Teardown(ctx, deploy.Teardown{
		Machine:         d.cfg.machine,
		DeleteInstances: d.cfg.deleteInstances,
		DryRun:          d.cfg.dryRun,
		// Pages come one at a time, so the total is not known: progress is
		// logged by time, whatever the number of instances.
		Progress: d.progress(func(deleted int) { d.log.infof("deleted %d instances so far", deleted) }),
	})
	d.rep.teardown = &res
	if err != nil {
		return err
	}
	name := d.cfg.machine
	switch {
	case res.AlreadyGone:
		// Exit 0, so that a rerun passes; a warning, so that a misspelt
		// name does not pass unseen.
		d.log.warnf("machine %s does not exist, so nothing was deleted: if a run deleted it before, all is well; otherwise check %s",
			name, d.cfg.names.input("machine"))
	case d.cfg.dryRun && d.cfg.deleteInstances:
		d.log.noticef("dry run: would delete %d instances, then machine %s; nothing was deleted", res.Instances, name)
	case d.cfg.dryRun && res.Instances > 0:
		d.log.noticef("dry run: machine %s has %d instances, so deleting it would fail: set %s to delete them first; nothing was deleted",
			name, res.Instances, d.cfg.names.setting("delete-instances", "true"))
	case d.cfg.dryRun:
		d.log.noticef("dry run: would delete machine %s (it has no instances); nothing was deleted", name)
	case !res.Deleted:
		d.log.noticef("this run deleted %d instances, then found machine %s gone: someone else deleted it meanwhile", res.DeletedInstances, name)
	default:
		d.log.infof("deleted machine %s with its versions and migrations, after deleting %d instances", name, res.DeletedInstances)
	}
	return d.writeOutputs([]output{
		{"deleted", strconv.FormatBool(res.Deleted)},
		{"deleted-instances", strconv.Itoa(res.DeletedInstances)},
	})
}
