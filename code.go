package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sbdeploy/bundle"
	"sbdeploy/deploy"
)

// built is one bundle, ready to upload.
type built struct {
	what    string // "migration" or "machine version"
	entry   string // relative to the working directory
	raw     int    // minified bytes
	gzipped int    // gzipped bytes
	upload  []byte // what is sent: gzipped unless the gzip input is false
	sha256  string // of the minified code, hex
	took    time.Duration
}

// deployCode deploys what the mode names: a migration, a machine version,
// or both (release). Everything is bundled and checked before the first
// request, so code that cannot be deployed costs no request. The outputs
// are written only once every deploy has been finalized.
func deployCode(ctx context.Context, cfg *config, log *logger, rep *report) error {
	var version, migration *built
	var err error
	if cfg.deploysVersion() {
		if version, err = buildBundle(cfg, log, rep, "machine version", cfg.entry, bundle.VersionExports); err != nil {
			return err
		}
	}
	if cfg.deploysMigration() {
		entry := cfg.entry
		if cfg.mode == modeRelease {
			entry = cfg.migrationEntry
		}
		if migration, err = buildBundle(cfg, log, rep, "migration", entry, bundle.MigrationExports); err != nil {
			return err
		}
	}
	// The bundle-* outputs describe the version when there is one.
	primary := version
	if primary == nil {
		primary = migration
	}
	outputs := []output{
		{"bundle-bytes", strconv.Itoa(primary.raw)},
		{"upload-bytes", strconv.Itoa(len(primary.upload))},
		{"bundle-sha256", primary.sha256},
	}
	if cfg.dryRun {
		var what []string
		for _, b := range rep.bundles {
			what = append(what, fmt.Sprintf("%s of %s", bytesText(len(b.upload)), b.entry))
		}
		log.noticef("dry run: %s would be uploaded to machine %s; nothing was sent", strings.Join(what, " and "), cfg.machine)
		return writeOutputs(log, outputs)
	}

	client, err := newClient(cfg, log)
	if err != nil {
		return err
	}
	if cfg.createMachine {
		if err := ensureMachine(ctx, client, cfg, log, rep); err != nil {
			return err
		}
	}
	var ids []output
	if version != nil {
		v := deploy.Version{Machine: cfg.machine, Code: version.upload, Gzipped: cfg.gzip,
			ClientInfo: cfg.clientInfo, MakeCurrent: cfg.makeCurrent, IndexSelectors: cfg.indexSelectors}
		id, err := client.DeployVersion(ctx, v, logStep(log, rep, v.Filename()))
		if err != nil {
			return err
		}
		rep.versionID = id
		log.infof("deployed version %s of machine %s (client info %q, current: %t)", id, cfg.machine, cfg.clientInfo, cfg.makeCurrent)
		ids = append(ids, output{"version-id", id})
	}
	if migration != nil {
		m := deploy.Migration{Machine: cfg.machine, From: cfg.from, To: cfg.to, Code: migration.upload, Gzipped: cfg.gzip}
		if version != nil {
			m.To = rep.versionID
		}
		id, err := client.DeployMigration(ctx, m, logStep(log, rep, m.Filename()))
		if err != nil {
			if version != nil {
				return fmt.Errorf("version %s was deployed, but the migration to it was not: %w", rep.versionID, err)
			}
			return err
		}
		rep.migrationID = id
		log.infof("deployed migration %s of machine %s (%s -> %s)", id, cfg.machine, m.From, m.To)
		ids = append(ids, output{"migration-id", id})
	}
	return writeOutputs(log, append(ids, outputs...))
}

// buildBundle bundles entry and checks its exports and size, putting build
// errors and warnings at their place in the source.
func buildBundle(cfg *config, log *logger, rep *report, what, entry string, exports []string) (*built, error) {
	start := time.Now()
	b, err := bundle.Build(bundle.Options{Dir: cfg.dir, Entry: entry, Exports: exports})
	if err != nil {
		annotateBuildErrors(log, cfg, err)
		return nil, err
	}
	for _, w := range b.Warnings {
		log.annotate("warning", workspacePath(cfg, w.File), w.Line, w.Column, w.Text)
	}
	sum := sha256.Sum256(b.Code)
	out := &built{what: what, entry: entry, raw: len(b.Code), gzipped: len(b.Gzipped), upload: b.Code,
		sha256: hex.EncodeToString(sum[:]), took: time.Since(start)}
	if cfg.gzip {
		out.upload = b.Gzipped
	}
	rep.bundles = append(rep.bundles, out)
	title := "bundle"
	if cfg.mode == modeRelease {
		title = "bundle " + what
	}
	log.group(title,
		fmt.Sprintf("entry %s", workspacePath(cfg, entry)),
		fmt.Sprintf("%s minified, %s gzipped (limits %s and %s)", bytesText(out.raw), bytesText(out.gzipped),
			bytesText(bundle.MaxRawBytes), bytesText(bundle.MaxGzippedBytes)),
		fmt.Sprintf("sha256 %s", out.sha256),
		fmt.Sprintf("took %s", ms(out.took)))
	return out, nil
}

// ensureMachine creates the machine unless it exists.
func ensureMachine(ctx context.Context, client *deploy.Client, cfg *config, log *logger, rep *report) error {
	start := time.Now()
	created, err := client.EnsureMachine(ctx, cfg.machine, cfg.indexes)
	if err != nil {
		return err
	}
	rep.machineCreated = created
	what := fmt.Sprintf("machine %s exists", cfg.machine)
	if created {
		what = fmt.Sprintf("created machine %s with indexes [%s]", cfg.machine, strings.Join(cfg.indexes, ", "))
	}
	log.group("machine", what, "took "+ms(time.Since(start)))
	return nil
}

// logStep logs each finished step of a deploy in a group of its own.
func logStep(log *logger, rep *report, filename string) func(deploy.StepDone) {
	return func(s deploy.StepDone) {
		rep.steps = append(rep.steps, s)
		lines := []string{"took " + ms(s.Duration)}
		if s.Step == deploy.StepUpload {
			lines = append([]string{fmt.Sprintf("%s as %s", bytesText(s.Bytes), filename)}, lines...)
		}
		log.group(string(s.Step), lines...)
	}
}
