package action

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"sbdeploy/bundle"
	"sbdeploy/validate"
)

// skipHint is what a failed check of the code adds to its error when the
// failure may be the check's own (validate.Error.Limitation): how to turn
// that check off. It is "" for any other failure.
func skipHint(ve *validate.Error, how string) string {
	if !ve.Limitation() {
		return ""
	}
	return "; if the code runs on the platform, " + how
}

// check evaluates the code of entry in a sandbox and checks what the
// official CLI checks before it deploys, before any request is sent. It
// returns what the job summary says of it.
func (d *deployer) check(ctx context.Context, kind bundle.Kind, entry string) (string, error) {
	start := d.tune.now()
	p := d.cfg.code.paths
	err := d.worker.Validate(ctx, bundle.Options{Dir: p.dir, Entry: entry, Root: p.workspace}, kind, d.tune.validate)
	var ve *validate.Error
	switch {
	case xstateMissing(err) && kind == bundle.Migration:
		// Migrations rarely need xstate at run time: say so, and go on.
		d.log.noticef("the migration %s was not validated: it imports xstate, which is not installed here; "+
			"install the app's packages before this step to validate it", p.relative(entry))
		return "skipped: the migration imports xstate, which is not installed", nil
	case xstateMissing(err):
		return "", fmt.Errorf("validate the machine version %s: evaluating it needs xstate installed: install the app's packages "+
			"before this step (`npm ci`, or your package manager's install), or set %s", p.relative(entry), d.cfg.names.setting("validate", "false"))
	case errors.As(err, new(*bundle.BuildError)):
		return "", fmt.Errorf("validate the %s %s: its evaluation variant does not build (set %s to skip validation): %w",
			kind, p.relative(entry), d.cfg.names.setting("validate", "false"), d.buildFailed(kind, entry, err))
	case errors.As(err, &ve):
		hint := skipHint(ve, "set "+d.cfg.names.setting("validate", "false")+" to skip validation")
		d.annotateAt(ve.Pos, entry, ve.Error()+hint) // where the engine placed it
		return "", fmt.Errorf("validation of the %s %s failed: %w%s", kind, p.relative(entry), ve, hint)
	case err != nil:
		return "", d.crashed(entry, err)
	}
	took := ms(d.tune.now().Sub(start))
	what := "exports " + strings.Join(validate.Functions(kind), " and ") + " as functions"
	if kind == bundle.MachineVersion {
		what = "default-exports an XState machine whose definition resolves, and " + strings.TrimPrefix(what, "exports ")
	}
	d.log.group("validate "+kind.String(), fmt.Sprintf("%s evaluated: it %s", p.relative(entry), what), "took "+took)
	return "passed in " + took, nil
}

// annotateAt annotates an error at pos in the app's source, or at the start
// of entry when pos is in none (in the bundled script, or nowhere).
func (d *deployer) annotateAt(pos validate.Position, entry, text string) {
	file, line, col := entry, 1, 1
	if pos.File != "" && pos.File != validate.Outfile {
		file, line, col = pos.File, pos.Line, pos.Column
	}
	d.log.annotate("error", d.cfg.code.paths.relative(file), line, col, text)
}

// xstateMissing reports a variant build that failed because xstate is not
// installed: the upload, which leaves xstate to the platform, built.
func xstateMissing(err error) bool {
	be, ok := errors.AsType[*bundle.BuildError](err)
	return ok && slices.ContainsFunc(be.Messages, func(m bundle.Message) bool {
		return m.Unresolved != "" && bundle.KindOfImport(m.Unresolved) == bundle.XstateImport
	})
}
