package main

import (
	"context"
	"fmt"
	"strconv"

	"sbdeploy/deploy"
)

// teardown deletes the machine (and, when asked, its instances first), or on
// a dry run lists what would be deleted. The deleted and deleted-instances
// outputs say what really happened: false and 0 on a dry run.
func teardown(ctx context.Context, cfg *config, log *logger, rep *report) error {
	client, err := newClient(cfg, log)
	if err != nil {
		return err
	}
	res, err := client.Teardown(ctx, deploy.Teardown{
		Machine:         cfg.machine,
		DeleteInstances: cfg.deleteInstances,
		DryRun:          cfg.dryRun,
		Progress: func(deleted, total int) {
			// About ten progress lines, however many instances.
			if every := max(1, total/10); deleted%every == 0 || deleted == total {
				log.infof("deleted %d of %d instances", deleted, total)
			}
		},
	})
	rep.teardown = &res
	if err != nil {
		return err
	}
	switch {
	case res.AlreadyGone:
		log.noticef("machine %s does not exist (already deleted?): nothing to delete", cfg.machine)
	case cfg.dryRun && cfg.deleteInstances:
		log.noticef("dry run: would delete %d instances, then machine %s; nothing was deleted", res.Instances, cfg.machine)
	case cfg.dryRun && res.Instances > 0:
		log.noticef("dry run: machine %s has %d instances, so deleting it would fail: set delete-instances: true to delete them first; nothing was deleted", cfg.machine, res.Instances)
	case cfg.dryRun:
		log.noticef("dry run: would delete machine %s (it has no instances); nothing was deleted", cfg.machine)
	default:
		log.infof("deleted machine %s with its versions and migrations, after deleting %d instances", cfg.machine, res.DeletedInstances)
	}
	return writeOutputs(log, []output{
		{"deleted", strconv.FormatBool(res.Deleted)},
		{"deleted-instances", strconv.Itoa(res.DeletedInstances)},
	})
}

// teardownRows are the job summary's rows for a teardown.
func teardownRows(cfg *config, res *deploy.TeardownResult) [][2]string {
	rows := [][2]string{{"Machine", code(cfg.machine)}}
	switch {
	case res == nil:
	case res.AlreadyGone:
		rows = append(rows, [2]string{"Result", "the machine did not exist: nothing was deleted"})
	case cfg.dryRun:
		rows = append(rows, [2]string{"Instances", fmt.Sprintf("%d (dry run: nothing was deleted)", res.Instances)})
	default:
		deleted := "no"
		if res.Deleted {
			deleted = "yes, with all its versions and migrations"
		}
		rows = append(rows,
			[2]string{"Instances deleted", strconv.Itoa(res.DeletedInstances)},
			[2]string{"Machine deleted", deleted})
	}
	return rows
}
