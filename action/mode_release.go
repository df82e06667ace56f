package action

import "slices"

// releaseMode deploys a machine version, then, with from-version, the
// migration from it to the new version.
func modeRelease() *mode {
	return &mode{
		name:      "release",
		usage:     "deploy a machine version (file), then with from-version the migration to it (migration-file)",
		inputs:    slices.Concat([]string{"from-version", "migration-file", "from-machine-file", "replay-instances"}, rolloutInputs, versionInputs, deploymentInputs, codeInputs),
		version:   true,
		migration: migrationWithFrom,
		load: func(c *config, l loading) {
			if c.from != "" {
				requireVersion(l.errs, "from-version", c.from, "for a migration")
			}
			c.upgrade = c.bool(l.src, "upgrade-instances", l.errs)
			c.loadConcurrency(l)
			c.loadVersion(l)
			c.loadCode(l)
		},
		run:     (*deployer).deployCode,
		titles:  titles{done: "Released", dryRun: "Dry run: nothing was changed", failed: "Deploy failed"},
		rows:    (*report).codeRows,
		outputs: slices.Concat([]string{"version-id", "version-reused", "migration-id"}, bundleOutputs, rolloutOutputs),
	}
}
