package action

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"sbdeploy/bundle"
	"sbdeploy/deploy"
)

// built is one bundle, ready to upload.
type built struct {
	kind    bundle.Kind
	entry   string // relative to the working directory
	raw     int    // minified bytes
	gzipped int    // gzipped bytes
	upload  []byte // what is sent: gzipped unless the gzip input is false
	sha256  string // of the minified code, hex
	took    string
	checked string // what validation found: "" when it was off
}

// deployCode deploys what the mode names: a migration, a machine version,
// or both (release). Everything is bundled and checked before the first
// request, so code that cannot be deployed costs no request. The outputs
// are written only once every deploy has been finalized.
func (d *deployer) deployCode(ctx context.Context) error {
	// The connection to the API is opened while bundling (a connection is
	// not a request: nothing is sent until every check has passed), so its
	// TCP and TLS set-up costs no time on a real network.
	var client *deploy.Client
	if !d.cfg.dryRun {
		var err error
		if client, err = d.connect(); err != nil {
			return err
		}
		defer client.CloseIdleConnections()
		client.Preconnect(ctx)
	}
	version, migration, err := d.buildAll(ctx)
	if err != nil {
		return err
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
	if d.cfg.dryRun {
		d.noteDryRun()
		return d.log.writeOutputs(d.getenv, outputs)
	}
	if d.cfg.createMachine {
		if err := d.ensureMachine(ctx, client); err != nil {
			return err
		}
	}
	ids, err := d.ship(ctx, client, version, migration)
	if err != nil {
		return err
	}
	if !d.cfg.upgrade {
		return d.log.writeOutputs(d.getenv, append(ids, outputs...))
	}
	// What was deployed is written first: a rollout that then fails does
	// not undo it, and a rerun of the job needs its IDs.
	if err := d.log.writeOutputs(d.getenv, append(ids, outputs...)); err != nil {
		return err
	}
	to := d.cfg.to
	if d.cfg.mode == modeRelease {
		to = d.rep.versionID
	}
	rolled, err := d.rollout(ctx, client, to)
	if err != nil {
		return err
	}
	return d.log.writeOutputs(d.getenv, rolled)
}

// buildAll bundles and checks everything the mode deploys.
func (d *deployer) buildAll(ctx context.Context) (version, migration *built, err error) {
	if d.bundling != nil {
		defer d.bundling()()
	}
	if d.cfg.deploysVersion() {
		if version, err = d.build(ctx, bundle.MachineVersion, d.cfg.paths.entry); err != nil {
			return nil, nil, err
		}
	}
	if d.cfg.deploysMigration() {
		entry := d.cfg.paths.entry
		if d.cfg.mode == modeRelease {
			entry = d.cfg.paths.migrationEntry
		}
		if migration, err = d.build(ctx, bundle.Migration, entry); err != nil {
			return nil, nil, err
		}
	}
	return version, migration, nil
}

// build bundles entry and checks its exports and size, putting build errors
// and warnings at their place in the source.
func (d *deployer) build(ctx context.Context, kind bundle.Kind, entry string) (*built, error) {
	start := d.tune.now()
	p := d.cfg.paths
	b, err := bundle.Build(ctx, bundle.Options{Dir: p.dir, Entry: entry, Kind: kind, Root: p.workspace, Limits: d.tune.limits})
	if err != nil {
		return nil, d.buildFailed(kind, entry, err)
	}
	for _, w := range b.Warnings {
		d.log.annotate("warning", p.relative(w.File), w.Line, w.Column, w.Text)
	}
	sum := sha256.Sum256(b.Code)
	out := &built{kind: kind, entry: entry, raw: len(b.Code), gzipped: len(b.Gzipped), upload: b.Code,
		sha256: hex.EncodeToString(sum[:]), took: ms(d.tune.now().Sub(start))}
	if d.cfg.gzip {
		out.upload = b.Gzipped
	}
	d.rep.bundles = append(d.rep.bundles, out)
	if d.cfg.validate {
		if out.checked, err = d.check(ctx, kind, entry); err != nil {
			return nil, err
		}
	}
	title := "bundle"
	if d.cfg.mode == modeRelease {
		title = "bundle " + kind.String()
	}
	limits := d.tune.limits
	if limits == (bundle.Limits{}) {
		limits = bundle.Limits{Raw: bundle.MaxRawBytes, Gzipped: bundle.MaxGzippedBytes}
	}
	d.log.group(title,
		fmt.Sprintf("entry %s", p.relative(entry)),
		fmt.Sprintf("%s minified, %s gzipped (limits %s and %s)", bytesText(out.raw), bytesText(out.gzipped),
			bytesText(limits.Raw), bytesText(limits.Gzipped)),
		fmt.Sprintf("sha256 %s", out.sha256),
		fmt.Sprintf("took %s", out.took))
	return out, nil
}

// buildFailed reports a failed build once: each located esbuild error as an
// annotation at its place (relative to the workspace), and an error that
// counts them and carries only what has no place.
func (d *deployer) buildFailed(kind bundle.Kind, entry string, err error) error {
	var be *bundle.BuildError
	if !errors.As(err, &be) {
		return err
	}
	var unplaced []string
	for _, m := range be.Messages {
		if m.File == "" {
			unplaced = append(unplaced, m.Text)
			continue
		}
		d.log.annotate("error", d.cfg.paths.relative(m.File), m.Line, m.Column, m.Text)
	}
	msg := fmt.Sprintf("bundle of the %s %s failed with %d error(s)", kind, d.cfg.paths.relative(entry), len(be.Messages))
	if len(unplaced) < len(be.Messages) {
		msg += " (annotated at their place above)"
	}
	for _, u := range unplaced {
		msg += "\n  " + u
	}
	return &reportedBuildError{msg: msg, err: be}
}

// reportedBuildError is a build error whose located messages were logged
// already.
type reportedBuildError struct {
	msg string
	err *bundle.BuildError
}

func (e *reportedBuildError) Error() string { return e.msg }
func (e *reportedBuildError) Unwrap() error { return e.err }

// ensureMachine creates the machine unless it exists.
func (d *deployer) ensureMachine(ctx context.Context, client *deploy.Client) error {
	start := d.tune.now()
	created, err := client.EnsureMachine(ctx, d.cfg.machine, d.cfg.indexes)
	if err != nil {
		return err
	}
	d.rep.machineCreated = created
	what := fmt.Sprintf("machine %s exists", d.cfg.machine)
	if created {
		what = fmt.Sprintf("created machine %s with indexes [%s]", d.cfg.machine, strings.Join(d.cfg.indexes, ", "))
	}
	d.log.group("machine", what, "took "+ms(d.tune.now().Sub(start)))
	return nil
}

// ship deploys the version, then the migration (to the new version, in a
// release), and returns their IDs as outputs.
func (d *deployer) ship(ctx context.Context, client *deploy.Client, version, migration *built) ([]output, error) {
	var ids []output
	if version != nil {
		id, err := d.shipVersion(ctx, client, version)
		if err != nil {
			return nil, err
		}
		d.rep.versionID = id
		ids = append(ids, output{"version-id", id}, output{"version-reused", strconv.FormatBool(d.rep.versionReused)})
	}
	if migration != nil {
		m := deploy.Migration{Machine: d.cfg.machine, From: d.cfg.from, To: d.cfg.to, Code: migration.upload, Gzipped: d.cfg.gzip}
		if version != nil {
			m.To = d.rep.versionID
		}
		id, err := client.Deploy(ctx, m, d.logStep(m.Filename()))
		if err != nil && version != nil {
			return nil, &partialReleaseError{versionID: d.rep.versionID, err: err}
		}
		if err != nil {
			return nil, err
		}
		d.rep.migrationID = id
		d.log.infof("deployed migration %s of machine %s (%s -> %s)", id, d.cfg.machine, m.From, m.To)
		ids = append(ids, output{"migration-id", id})
	}
	return ids, nil
}

// shipVersion deploys the machine version, or, with reuse-version, finds
// the one a run with the same client info deployed before and deploys
// nothing: a rerun of a job does not make a second version of its code.
func (d *deployer) shipVersion(ctx context.Context, client *deploy.Client, version *built) (string, error) {
	if d.cfg.reuseVersion {
		if d.cfg.clientInfo == "" {
			d.log.noticef("%s: the client info is empty, so no version can match it: deploying a new one", d.cfg.names.input("reuse-version"))
		}
		v, err := client.FindVersion(ctx, d.cfg.machine, d.cfg.clientInfo, d.cfg.makeCurrent)
		if err != nil {
			return "", err
		}
		if v != nil {
			d.rep.versionReused = true
			which := "a version"
			if d.cfg.makeCurrent {
				which = "the current version"
			}
			d.log.noticef("reusing version %s of machine %s: it is %s, deployed before with client info %q; nothing was uploaded",
				v.ID, d.cfg.machine, which, d.cfg.clientInfo)
			return v.ID, nil
		}
	}
	v := deploy.Version{Machine: d.cfg.machine, Code: version.upload, Gzipped: d.cfg.gzip,
		ClientInfo: d.cfg.clientInfo, MakeCurrent: d.cfg.makeCurrent, IndexSelectors: d.cfg.indexSelectors}
	id, err := client.Deploy(ctx, v, d.logStep(v.Filename()))
	if err != nil {
		return "", err
	}
	d.log.infof("deployed version %s of machine %s (client info %q, current: %t)", id, d.cfg.machine, d.cfg.clientInfo, d.cfg.makeCurrent)
	return id, nil
}

// logStep logs each finished step of a deploy in a group of its own.
func (d *deployer) logStep(filename string) func(deploy.StepDone) {
	return func(s deploy.StepDone) {
		d.rep.steps = append(d.rep.steps, s)
		lines := []string{"took " + ms(s.Duration)}
		if s.Step == deploy.StepUpload {
			lines = append([]string{fmt.Sprintf("%s as %s", bytesText(s.Bytes), filename)}, lines...)
		}
		d.log.group(string(s.Step), lines...)
	}
}

// noteDryRun says what a dry run would have uploaded, and that nothing was
// sent.
func (d *deployer) noteDryRun() {
	var what []string
	for _, b := range d.rep.bundles {
		what = append(what, fmt.Sprintf("%s of %s", bytesText(len(b.upload)), b.entry))
	}
	then := ""
	if d.cfg.upgrade {
		then = ", and every instance asked to move to the new version"
	}
	d.log.noticef("dry run: %s would be uploaded to machine %s%s; nothing was sent", strings.Join(what, " and "), d.cfg.machine, then)
}
