package action

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"sbdeploy/bundle"
	"sbdeploy/deploy"
	"sbdeploy/internal/worker"
)

// codeInputs are the inputs of every mode that deploys code.
var codeInputs = []string{"file", "working-directory", "gzip", "validate"}

// bundleOutputs describe the bundle a code mode deployed (in a release,
// the version's).
var bundleOutputs = []string{"bundle-bytes", "upload-bytes", "bundle-sha256"}

// loadCode checks the inputs every code mode takes: how to bundle and
// check, and where from.
func (c *config) loadCode(l loading) {
	c.code.gzip = c.bool(l.src, "gzip", l.errs)
	c.code.validate = c.bool(l.src, "validate", l.errs)
	var err error
	if c.code.paths, err = loadPaths(l.src, c, l.workspace); err != nil {
		l.errs.errs = append(l.errs.errs, err)
	}
	c.loadPlan(l)
}

// built is one bundle, ready to upload.
type built struct {
	kind    bundle.Kind
	entry   string // relative to the working directory
	raw     int    // minified bytes
	gzipped int    // gzipped bytes
	upload  []byte // what is sent: gzipped unless the gzip input is false
	sha256  string // of the minified code, hex
	took    string
	checked string            // what validation found: "" when it was off
	steps   []deploy.StepDone // of its deploy, as each finished
}

// deployCode deploys what the mode names: a migration, a machine version,
// or both (release). Everything is bundled and checked before the first
// request, so code that cannot be deployed costs no request. The outputs
// are written only once every deploy has been finalized.
func (d *deployer) deployCode(ctx context.Context) error {
	// The connection to the API is opened while bundling (a connection is
	// not a request: nothing is sent until every check has passed), so its
	// TCP and TLS set-up costs no time on a real network. A dry run without
	// credentials stays offline.
	var client *deploy.Client
	if !d.cfg.dryRun || d.cfg.auth.source != tokenNone {
		var err error
		if client, err = d.connect(); err != nil {
			return err
		}
		defer client.CloseIdleConnections()
		client.Preconnect(ctx)
	}
	if d.cfg.deploysVersion() && d.cfg.version.clientInfo == "" {
		reuse := ""
		if d.cfg.version.reuseVersion {
			reuse = "; " + d.cfg.names.input("reuse-version") + " matches no version by an empty client info, so a new version is deployed"
		}
		d.log.noticef("the version's client info is empty (no %s, GITHUB_SHA or git commit): set %s to name the code, such as a commit or a release tag%s",
			d.cfg.names.input("client-info"), d.cfg.names.input("client-info"), reuse)
	}
	if err := d.confine(ctx); err != nil {
		return err
	}
	version, migration, err := d.buildAll(ctx)
	if err == nil {
		err = d.checkPlan(ctx, client)
	}
	if err == nil {
		d.compareBundle(ctx)
	}
	d.worker.Close() // the code is built and checked: nothing untrusted runs from here on
	if err != nil {
		return err
	}
	primary := cmp.Or(version, migration) // the bundle-* outputs describe the version when there is one
	outputs := []output{
		{"bundle-bytes", strconv.Itoa(primary.raw)},
		{"upload-bytes", strconv.Itoa(len(primary.upload))},
		{"bundle-sha256", primary.sha256},
	}
	if d.cfg.dryRun {
		if client != nil {
			if err := d.checkDryRun(ctx, client); err != nil {
				return err
			}
			d.log.group("dry run checks", d.rep.checks...)
		}
		d.noteDryRun(client != nil)
		return d.writeOutputs(outputs)
	}
	d.beginDeployment(ctx)
	if d.cfg.version.createMachine {
		if err := d.ensureMachine(ctx, client); err != nil {
			return err
		}
	}
	if err := d.ship(ctx, client, version, migration); err != nil {
		return err
	}
	// What was deployed is written before a rollout: a rollout that then
	// fails does not undo it.
	if err := d.writeOutputs(outputs); err != nil || !d.cfg.upgrade {
		return err
	}
	return d.rollout(ctx, client, cmp.Or(d.rep.versionID, d.cfg.to)) // to the version this run deployed, if it deployed one
}

// buildAll bundles and checks everything the mode deploys.
func (d *deployer) buildAll(ctx context.Context) (version, migration *built, err error) {
	if d.cfg.deploysVersion() {
		if version, err = d.build(ctx, bundle.MachineVersion, d.cfg.code.paths.entry); err != nil {
			return nil, nil, err
		}
	}
	if d.cfg.deploysMigration() {
		entry := d.cfg.code.paths.entry
		if d.cfg.deploysVersion() { // the version is at entry
			entry = d.cfg.code.paths.migrationEntry
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
	p := d.cfg.code.paths
	b, err := d.worker.Build(ctx, bundle.Options{Dir: p.dir, Entry: entry, Kind: kind, Root: p.workspace, Limits: d.tune.limits,
		Progress: d.progress(func(n int) { d.log.infof("bundling %s: %d modules loaded", p.relative(entry), n) })})
	if err != nil {
		return nil, d.buildFailed(kind, entry, err)
	}
	for _, w := range b.Warnings {
		d.log.annotate("warning", p.relative(w.File), w.Line, w.Column, w.Text)
	}
	sum := sha256.Sum256(b.Code)
	out := &built{kind: kind, entry: entry, raw: len(b.Code), gzipped: len(b.Gzipped), upload: b.Code,
		sha256: hex.EncodeToString(sum[:]), took: ms(d.tune.now().Sub(start))}
	if d.cfg.code.gzip {
		out.upload = b.Gzipped
	}
	d.rep.bundles = append(d.rep.bundles, out)
	if d.cfg.code.validate {
		if out.checked, err = d.check(ctx, kind, entry); err != nil {
			return nil, err
		}
	}
	title := "bundle"
	if d.cfg.deploysVersion() && d.cfg.deploysMigration() {
		title = "bundle " + kind.String()
	}
	limits := d.tune.limits.OrService()
	d.log.group(title,
		fmt.Sprintf("entry %s", p.relative(entry)),
		fmt.Sprintf("%s minified, %s gzipped (limits %s and %s)", bytesText(out.raw), bytesText(out.gzipped),
			bytesText(limits.Raw), bytesText(limits.Gzipped)),
		fmt.Sprintf("sha256 %s", out.sha256),
		fmt.Sprintf("took %s", out.took))
	return out, nil
}

// confine starts the worker that bundles and evaluates the code, and
// confines it to the workspace; the log and the summary say how.
func (d *deployer) confine(ctx context.Context) error {
	if d.startWorker == nil {
		return errors.New("no worker to bundle the code in") // a caller of Run forgot Process.Worker
	}
	w, err := d.startWorker()
	if err != nil {
		return err
	}
	d.worker = w
	how, err := w.Confine(ctx, d.cfg.code.paths.workspace)
	if err != nil {
		w.Close()
		return err
	}
	d.rep.confinement = how
	d.log.infof("bundling and evaluating in a worker process with no secret, confined to the workspace by %s", how)
	return nil
}

// progress returns a progress callback for long work (a build, a rollout,
// a deletion) that passes its count on to say at most once every
// progressEvery, starting from now, so that the work is not silent and the
// log is not flooded.
func (d *deployer) progress(say func(n int)) func(n int) {
	last := d.tune.now()
	return func(n int) {
		if now := d.tune.now(); now.Sub(last) >= progressEvery {
			last = now
			say(n)
		}
	}
}

// buildFailed reports a failed build once: each located esbuild error as an
// annotation at its place (relative to the workspace), and an error that
// counts them and carries only what has no place.
func (d *deployer) buildFailed(kind bundle.Kind, entry string, err error) error {
	be, ok := errors.AsType[*bundle.BuildError](err)
	if !ok {
		return d.crashed(entry, err)
	}
	var unplaced []string
	for _, m := range be.Messages {
		if m.File == "" {
			unplaced = append(unplaced, m.Text)
			continue
		}
		d.log.annotate("error", d.cfg.code.paths.relative(m.File), m.Line, m.Column, m.Text)
	}
	msg := fmt.Sprintf("bundle of the %s %s failed with %d error(s)", kind, d.cfg.code.paths.relative(entry), len(be.Messages))
	if len(unplaced) < len(be.Messages) {
		msg += " (annotated at their place above)"
	}
	for _, u := range unplaced {
		msg += "\n  " + u
	}
	return &reportedBuildError{msg: msg, err: be}
}

// crashed annotates the entry point with why the worker stopped, when err
// says it did: the code there made it.
func (d *deployer) crashed(entry string, err error) error {
	if crash, ok := errors.AsType[*worker.CrashError](err); ok {
		crash.Entry = d.cfg.code.paths.relative(entry)
		d.log.annotate("error", crash.Entry, 1, 1, crash.Reason)
	}
	return err
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
	created, err := client.EnsureMachine(ctx, d.cfg.machine, d.cfg.version.indexes)
	if err != nil {
		return err
	}
	d.rep.machineCreated = created
	what := fmt.Sprintf("machine %s exists", d.cfg.machine)
	if created {
		what = fmt.Sprintf("created machine %s with indexes [%s]", d.cfg.machine, strings.Join(d.cfg.version.indexes, ", "))
	}
	d.log.group("machine", what, "took "+ms(d.tune.now().Sub(start)))
	return nil
}

// ship deploys the version, then the migration (to the new version, in a
// release). Each ID is an output as soon as the API confirms it, so that a
// run that fails after it still names what it deployed.
func (d *deployer) ship(ctx context.Context, client *deploy.Client, version, migration *built) error {
	if version != nil {
		id, err := d.shipVersion(ctx, client, version)
		if err != nil {
			return err
		}
		d.rep.versionID = id
		if err := d.writeOutputs([]output{{"version-id", id}, {"version-reused", strconv.FormatBool(d.rep.versionReused)}}); err != nil {
			return err
		}
	}
	if migration == nil {
		return nil
	}
	// To the new version, in a release.
	m := deploy.Migration{Machine: d.cfg.machine, From: d.cfg.from, To: cmp.Or(d.rep.versionID, d.cfg.to), Code: migration.upload, Gzipped: d.cfg.code.gzip}
	id, err := client.Deploy(ctx, m, d.logStep(migration, m.Filename()))
	if err != nil && version != nil {
		return &partialReleaseError{versionID: d.rep.versionID, reused: d.rep.versionReused, err: err}
	}
	if err != nil {
		return err
	}
	d.rep.migrationID = id
	d.log.infof("deployed migration %s of machine %s (%s -> %s)", id, d.cfg.machine, m.From, m.To)
	return d.writeOutputs([]output{{"migration-id", id}})
}

// shipVersion deploys the machine version, or, with reuse-version, finds
// the one a run with the same client info deployed before and deploys
// nothing: a rerun of a job does not make a second version of its code.
func (d *deployer) shipVersion(ctx context.Context, client *deploy.Client, version *built) (string, error) {
	if d.cfg.version.reuseVersion {
		v, err := client.FindVersion(ctx, d.cfg.machine, d.cfg.version.clientInfo, d.cfg.version.makeCurrent)
		if err != nil {
			return "", err
		}
		if v != nil {
			d.rep.versionReused = true
			which := "a version"
			if d.cfg.version.makeCurrent {
				which = "the current version"
			}
			d.log.noticef("reusing version %s of machine %s: it is %s, deployed before with client info %q; nothing was uploaded",
				v.ID, d.cfg.machine, which, d.cfg.version.clientInfo)
			return v.ID, nil
		}
	}
	v := deploy.Version{Machine: d.cfg.machine, Code: version.upload, Gzipped: d.cfg.code.gzip,
		ClientInfo: d.cfg.version.clientInfo, MakeCurrent: d.cfg.version.makeCurrent, IndexSelectors: d.cfg.version.indexSelectors}
	id, err := client.Deploy(ctx, v, d.logStep(version, v.Filename()))
	if err != nil {
		return "", err
	}
	d.log.infof("deployed version %s of machine %s (client info %q, current: %t)", id, d.cfg.machine, d.cfg.version.clientInfo, d.cfg.version.makeCurrent)
	return id, nil
}

// logStep logs each finished step of b's deploy in a group of its own, and
// keeps it for the summary.
func (d *deployer) logStep(b *built, filename string) func(deploy.StepDone) {
	return func(s deploy.StepDone) {
		b.steps = append(b.steps, s)
		lines := []string{"took " + ms(s.Duration)}
		if s.Step == deploy.StepUpload {
			lines = append([]string{fmt.Sprintf("%s as %s", bytesText(s.Bytes), filename)}, lines...)
		}
		d.log.group(string(s.Step), lines...)
	}
}

// noteDryRun says what a dry run would have uploaded, and what it sent:
// read-only requests when it had credentials, nothing otherwise.
func (d *deployer) noteDryRun(read bool) {
	var what []string
	for _, b := range d.rep.bundles {
		what = append(what, fmt.Sprintf("%s of %s", bytesText(len(b.upload)), b.entry))
	}
	then := ""
	if d.cfg.upgrade {
		then = ", and every instance asked to move to the new version"
	}
	sent := "nothing was sent (without credentials, the token, the machine and the versions were not checked)"
	if read {
		sent = "only read-only requests were sent, and nothing was changed"
	}
	d.log.noticef("dry run: %s would be uploaded to machine %s%s; %s", strings.Join(what, " and "), d.cfg.machine, then, sent)
}
