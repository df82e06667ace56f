package action

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"sbdeploy/deploy"
)

// checkDryRun makes the read-only requests that tell whether the real run
// would be accepted, and sends no write: the token is accepted, the machine
// exists (or create-machine would create it), the versions the inputs name
// exist, and, with reuse-version, which version would be reused.
func (d *deployer) checkDryRun(ctx context.Context, client *deploy.Client) error {
	m, err := client.GetMachine(ctx, d.cfg.machine)
	switch {
	case deploy.IsNotFound(err) && d.cfg.version.createMachine && d.cfg.from == "":
		d.rep.checks = append(d.rep.checks, "the token is accepted", fmt.Sprintf("machine %s does not exist: it would be created", d.cfg.machine))
		return nil
	case deploy.IsNotFound(err):
		fix := "check " + d.cfg.names.input("machine")
		if d.cfg.deploysVersion() && d.cfg.from == "" {
			fix += ", or set " + d.cfg.names.setting("create-machine", "true") + " to create it"
		}
		return fmt.Errorf("dry run: machine %s does not exist (the real run would fail): %s", d.cfg.machine, fix)
	case err != nil:
		return fmt.Errorf("dry run: %w", err)
	}
	d.rep.checks = append(d.rep.checks, "the token is accepted", fmt.Sprintf("machine %s exists", d.cfg.machine))
	if err := d.checkVersionsExist(ctx, client, m); err != nil {
		return err
	}
	if d.cfg.deploysVersion() && d.cfg.version.reuseVersion {
		v, err := client.FindVersion(ctx, d.cfg.machine, d.cfg.version.clientInfo, d.cfg.version.makeCurrent)
		switch {
		case err != nil:
			return fmt.Errorf("dry run: %w", err)
		case v != nil:
			d.rep.checks = append(d.rep.checks, fmt.Sprintf("version %s has client info %q: it would be reused, and nothing uploaded", v.ID, d.cfg.version.clientInfo))
		default:
			d.rep.checks = append(d.rep.checks, fmt.Sprintf("no version to reuse has client info %q: a new version would be deployed", d.cfg.version.clientInfo))
		}
	}
	return nil
}

// checkVersionsExist checks that the versions the inputs name are versions
// of the machine: the current one needs no request; the others are looked
// for in the machine's list of versions, page by page, until all are found.
func (d *deployer) checkVersionsExist(ctx context.Context, client *deploy.Client, m *deploy.Machine) error {
	named := map[string]string{} // version ID -> the input that names it
	if d.cfg.deploysMigration() {
		named[d.cfg.from] = "from-version"
		if !d.cfg.deploysVersion() { // the migration ends at to-version, not at the version this run deploys
			named[d.cfg.to] = "to-version"
		}
	}
	if len(named) == 0 {
		return nil
	}
	if m.CurrentVersion != nil {
		delete(named, m.CurrentVersion.ID)
	}
	errAllFound := errors.New("all found")
	err := client.Versions(ctx, d.cfg.machine, func(page []deploy.VersionInfo) error {
		for _, v := range page {
			delete(named, v.ID)
		}
		if len(named) == 0 {
			return errAllFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errAllFound) {
		return fmt.Errorf("dry run: %w", err)
	}
	var missing []string
	for _, id := range slices.Sorted(maps.Keys(named)) {
		missing = append(missing, fmt.Sprintf("%s %s", d.cfg.names.input(named[id]), id))
	}
	if len(missing) > 0 {
		return fmt.Errorf("dry run: not a version of machine %s (the real run would fail): %s; check the version IDs",
			d.cfg.machine, strings.Join(missing, ", "))
	}
	d.rep.checks = append(d.rep.checks, "the versions named exist")
	return nil
}
