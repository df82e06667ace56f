package action

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"

	"sbdeploy/bundle"
	"sbdeploy/deploy"
	"sbdeploy/internal/worker"
	"sbdeploy/validate"
)

// maxReplay bounds replay-instances; maxNamed is how many failures a
// report names; maxNames is how many names a list in the summary shows.
const (
	maxReplay = 10_000
	maxNamed  = 20
	maxNames  = 50
)

// loadPlan checks the inputs of the migration check: which machines, and
// how many instances to replay it on.
func (c *config) loadPlan(l loading) {
	p, in := c.code.paths, c.names.input
	if slices.Contains(c.mode.inputs, "replay-instances") {
		c.code.replay = wholeNumber(l.src, l.errs, "replay-instances", 0, maxReplay, fmt.Sprintf("is not a number of instances from 0 to %d", maxReplay))
	}
	needsTo := slices.Contains(c.mode.inputs, "to-machine-file")
	switch {
	case needsTo && p.fromMachine != "" && p.toMachine == "":
		l.errs.add("to-machine-file", "required with %s: the check needs both machines, so give the source of to-version too", in("from-machine-file"))
	case needsTo && p.toMachine != "" && p.fromMachine == "":
		l.errs.add("from-machine-file", "required with %s: the check needs both machines, so give the source of from-version too", in("to-machine-file"))
	case c.code.replay > 0 && l.src.get("from-machine-file") == "":
		l.errs.add("replay-instances", "needs %s (the source of from-version) to replay the migration on instances", in("from-machine-file"))
	case c.code.replay > 0 && c.from == "":
		l.errs.add("replay-instances", "needs %s: a release without it deploys no migration to replay", in("from-version"))
	}
}

// planned says what the check compares: the old machine, the new one, and
// the migration between them ("" when the run deploys none).
func (c *config) planned() (from, to, migration string) {
	p := c.code.paths
	switch {
	case p.fromMachine == "":
		return "", "", ""
	case c.deploysVersion(): // and, in a release with from-version, the migration to it
		return p.fromMachine, p.entry, p.migrationEntry
	}
	return p.fromMachine, p.toMachine, p.entry
}

// planReport is what the migration check found, for the log and the
// summary.
type planReport struct {
	*worker.Plan
	from, to string // the machines' files, relative to the working directory
	replay   *replayReport
}

// replayReport counts what a replay found.
type replayReport struct {
	replayed int
	failed   map[string]int // by reason
	names    []string       // the failed instances, sorted: the first maxNamed
	count    int            // failed instances
}

// checkPlan describes the old and the new machine and checks the migration
// between them in the worker, then replays it on instances' real states
// (client: nil in a dry run without credentials). A migration that would
// break instances fails the run before any request that changes anything.
func (d *deployer) checkPlan(ctx context.Context, client *deploy.Client) error {
	from, to, migration := d.cfg.planned()
	if from == "" {
		return nil
	}
	p := d.cfg.code.paths
	plan, err := d.worker.Plan(ctx, p.dir, from, to, migration, d.tune.validate)
	if err != nil {
		return d.planFailed(migration, err)
	}
	rep := &planReport{Plan: plan, from: p.relative(from), to: p.relative(to)}
	d.rep.plan = rep
	if plan.Migration == nil {
		d.noteDiff(rep)
		return nil
	}
	lines := []string{fmt.Sprintf("%s to %s", rep.from, rep.to)}
	for _, m := range plan.Migration.Mappings {
		lines = append(lines, fmt.Sprintf("%s -> %s", stateText(m.Old), cmp.Or(strings.Join(mapSlice(m.New, stateText), " + "), "(fails)")))
	}
	if len(plan.Migration.Unreached) > 0 {
		lines = append(lines, "no old state goes to "+strings.Join(mapSlice(plan.Migration.Unreached, stateText), ", "))
	}
	if plan.Migration.ContextUnknown {
		lines = append(lines, "upgradeContext not called: "+rep.from+" makes its context from the instance's input; replay-instances checks it on real contexts")
	}
	d.log.group("migration check", lines...)
	if f := plan.Migration.Failures; len(f) > 0 {
		return d.planFailed(migration, &validate.MigrationError{Failures: f[:min(len(f), maxNamed)], Count: len(f)})
	}
	if d.cfg.code.replay == 0 {
		return nil
	}
	if client == nil {
		d.log.noticef("%s: not replayed: a dry run without credentials sends no request", d.cfg.names.input("replay-instances"))
		return nil
	}
	return d.replay(ctx, client, rep, migration)
}

// replay runs the migration on the real state and context of the
// instances on from-version, at most replay-instances of them.
func (d *deployer) replay(ctx context.Context, client *deploy.Client, rep *planReport, migration string) error {
	r := &replayReport{failed: map[string]int{}}
	rep.replay = r
	var failures []validate.Failure
	err := client.ReplayStates(ctx, d.cfg.machine, d.cfg.from, d.cfg.code.replay, func(page []deploy.Replayed) error {
		var f []validate.Failure
		for batch := range batches(page) {
			got, err := d.worker.Replay(ctx, batch)
			if err != nil {
				return d.planFailed(migration, err)
			}
			f = append(f, got...)
		}
		r.replayed += len(page)
		for _, x := range f {
			r.failed[reasonOf(x)]++
			failures = append(failures, x)
		}
		slices.SortFunc(failures, func(a, b validate.Failure) int { return strings.Compare(a.Instance, b.Instance) })
		failures = failures[:min(len(failures), maxNamed)] // the first maxNamed by name: one page held
		r.count += len(f)
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range failures {
		r.names = append(r.names, f.Instance)
	}
	d.log.infof("migration replayed on %d instance(s) on %s: %d passed, %d failed", r.replayed, d.cfg.from, r.replayed-r.count, r.count)
	if r.count > 0 {
		return d.planFailed(migration, &validate.MigrationError{Failures: failures, Count: r.count})
	}
	return nil
}

// maxBatchBytes bounds the states and contexts sent to the worker at once,
// far below the worker's frame limit: an admin answer may be a megabyte.
const maxBatchBytes = 8 << 20

// batches splits a page of instances into batches of at most
// maxBatchBytes of state and context (one instance each at least).
func batches(page []deploy.Replayed) iter.Seq[[]validate.Instance] {
	return func(yield func([]validate.Instance) bool) {
		var batch []validate.Instance
		size := 0
		for _, in := range page {
			n := len(in.State) + len(in.Context)
			if len(batch) > 0 && size+n > maxBatchBytes {
				if !yield(batch) {
					return
				}
				batch, size = nil, 0
			}
			batch = append(batch, validate.Instance{Name: in.Name, State: in.State, Context: in.Context})
			size += n
		}
		if len(batch) > 0 {
			yield(batch)
		}
	}
}

// reasonOf is the reason the summary counts a failure under.
func reasonOf(f validate.Failure) string {
	switch f.Kind {
	case validate.KindNoSuchState, validate.KindNotCalled:
		return string(f.Kind)
	}
	return f.Function + " " + string(f.Kind)
}

// planFailed reports a failed check: each failure annotated where it
// threw, or at the migration's entry point; a machine or a migration that
// could not be evaluated, at its place.
func (d *deployer) planFailed(migration string, err error) error {
	p := d.cfg.code.paths
	if me, ok := errors.AsType[*validate.MigrationError](err); ok {
		for _, f := range me.Failures {
			d.annotateAt(f.Pos, migration, f.String())
		}
		what := "the static check"
		if me.Failures[0].Instance != "" {
			what = "the replay on instances on " + d.cfg.from
		}
		return fmt.Errorf("migration check of %s failed in %s: %d call(s) would break instances (annotated above): "+
			"fix upgradeState and upgradeContext so that every old state goes to a state of the new machine and the context stays a JSON object",
			p.relative(migration), what, me.Count)
	}
	entry, kind := migration, bundle.Migration
	if pe, ok := errors.AsType[*worker.PlanError](err); ok && pe.Entry != migration {
		entry, kind = pe.Entry, bundle.MachineVersion
	}
	input := map[string]string{p.fromMachine: "from-machine-file", p.toMachine: "to-machine-file", p.entry: "file", p.migrationEntry: "migration-file"}[entry]
	named := d.cfg.names.input(input) + " " + p.relative(entry)
	var ve *validate.Error
	switch {
	case xstateMissing(err):
		return fmt.Errorf("migration check: evaluating %s needs xstate, which is not installed where it is: install the app's packages "+
			"before this step; for a second checkout, check it out inside %s (its imports then resolve from the packages installed there), or install its packages too",
			named, d.cfg.names.input("working-directory"))
	case errors.As(err, new(*bundle.BuildError)):
		return fmt.Errorf("migration check: %s does not build for evaluation: %w", named, d.buildFailed(kind, entry, err))
	case errors.As(err, &ve):
		detail := ve.Error() + skipHint(ve, "leave out "+d.cfg.names.input("from-machine-file")+" to skip the migration check")
		d.annotateAt(ve.Pos, entry, detail)
		return fmt.Errorf("migration check: evaluating %s (the %s) failed: %s", named, kind, detail)
	}
	return d.crashed(entry, err)
}

// noteDiff logs what changed between the old machine and the new, and
// warns of removed states: instances in them cannot move to the new
// version without a migration.
func (d *deployer) noteDiff(rep *planReport) {
	diff := rep.Diff
	list := func(s []string) string { return cmp.Or(strings.Join(mapSlice(s, stateText), ", "), "none") }
	d.log.group("changes from "+rep.from,
		"states added: "+list(diff.StatesAdded), "states removed: "+list(diff.StatesRemoved),
		"events added: "+list(diff.EventsAdded), "events removed: "+list(diff.EventsRemoved))
	if len(diff.StatesRemoved) > 0 {
		d.log.warnf("%s removes states that %s has (%s): instances in them cannot move to this version without a migration",
			rep.to, rep.from, list(diff.StatesRemoved))
	}
}

// planMarkdown is the section on where instances go: with at most rows of
// its table (every row if rows < 0), and with the table folded when fold
// is set and it has over foldRows rows.
func (r *report) planMarkdown(redact func(string) string, rows int, fold bool) string {
	p := r.plan
	if p == nil {
		return ""
	}
	var b strings.Builder
	if p.Migration == nil {
		fmt.Fprintf(&b, "\n#### Changes from %s\n\n| | added | removed |\n|---|---|---|\n", code(redact, p.from))
		fmt.Fprintf(&b, "| States | %s | %s |\n", codes(redact, p.Diff.StatesAdded), codes(redact, p.Diff.StatesRemoved))
		fmt.Fprintf(&b, "| Events | %s | %s |\n", codes(redact, p.Diff.EventsAdded), codes(redact, p.Diff.EventsRemoved))
		if len(p.Diff.StatesRemoved) > 0 {
			b.WriteString("\nInstances in a removed state cannot move to this version without a migration.\n")
		}
		return b.String()
	}
	fmt.Fprintf(&b, "\n#### Where instances go (%s to %s)\n\n", code(redact, p.from), code(redact, p.to))
	mappings := p.Migration.Mappings
	folded := fold && len(mappings) > foldRows
	if folded {
		fmt.Fprintf(&b, "<details><summary>%d old states</summary>\n\n", len(mappings))
	}
	b.WriteString("| Old state | New state |\n|---|---|\n")
	for i, m := range mappings {
		if i == rows {
			fmt.Fprintf(&b, "| %d more | cut to fit: the job summary has them all |\n", len(mappings)-rows)
			break
		}
		to := "**fails**"
		if len(m.New) > 0 {
			to = codes(redact, m.New)
		}
		fmt.Fprintf(&b, "| %s | %s |\n", code(redact, m.Old), to)
	}
	if folded {
		b.WriteString("\n</details>\n")
	}
	if len(p.Migration.Unreached) > 0 {
		fmt.Fprintf(&b, "\nNo old state goes to %s.\n", codes(redact, p.Migration.Unreached))
	}
	if p.Migration.ContextUnknown {
		fmt.Fprintf(&b, "\nupgradeContext was not called: %s makes its context from the instance's input.\n", code(redact, p.from))
	}
	if rp := p.replay; rp != nil {
		fmt.Fprintf(&b, "\nReplayed on %d instance(s) on %s: %d passed, %d failed.\n", rp.replayed, code(redact, r.cfg.from), rp.replayed-rp.count, rp.count)
		for _, reason := range slices.Sorted(maps.Keys(rp.failed)) {
			fmt.Fprintf(&b, "- %s: %d\n", text(redact, reason), rp.failed[reason])
		}
		if len(rp.names) > 0 {
			fmt.Fprintf(&b, "\nFailed (the first %d by name): %s\n", len(rp.names), codes(redact, rp.names))
		}
	}
	return b.String()
}

// stateText shows a state's name in the log: as it is, or quoted when it
// holds anything but letters, digits and _ . - $.
func stateText(name string) string {
	if name != "" && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-$") == "" {
		return name
	}
	return strconv.Quote(name)
}

func mapSlice(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// codes shows names as code, comma-separated, the first maxNames of them
// (see named), or "none".
func codes(redact func(string) string, names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return named(mapSlice(names[:min(len(names), maxNames)], func(n string) string { return code(redact, n) }), len(names))
}
