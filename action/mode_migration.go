package action

import "slices"

// migrationMode deploys a migration from from-version to to-version.
func modeMigration() *mode {
	return &mode{
		name:      "migration",
		usage:     "deploy a migration between two versions (from-version, to-version, file)",
		inputs:    slices.Concat([]string{"from-version", "to-version", "from-machine-file", "to-machine-file", "replay-instances"}, rolloutInputs, deploymentInputs, codeInputs),
		migration: alwaysMigration,
		load: func(c *config, l loading) {
			requireVersion(l.errs, "from-version", c.from, "for a migration")
			requireVersion(l.errs, "to-version", c.to, "for a migration")
			if c.from != "" && c.from == c.to {
				l.errs.add("to-version", "%s is from-version too: a migration goes from one version to another, so check both", quote(c.to))
			}
			c.upgrade = c.bool(l.src, "upgrade-instances", l.errs)
			c.loadConcurrency(l)
			c.loadCode(l)
		},
		run:     (*deployer).deployCode,
		titles:  titles{done: "Deployed migration", dryRun: "Dry run: nothing was changed", failed: "Deploy failed"},
		rows:    (*report).codeRows,
		outputs: slices.Concat([]string{"migration-id"}, bundleOutputs, rolloutOutputs),
	}
}
