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

// validationError is a check of the code that failed: it was logged where
// the engine placed it.
type validationError struct {
	kind  bundle.Kind
	entry string
	err   *validate.Error
	// skip is the setting that turns validation off, which the message
	// offers when the failure may be the check's own (Limitation).
	skip string
}

func (e *validationError) Error() string {
	return fmt.Sprintf("validation of the %s %s failed: %s", e.kind, e.entry, e.detail())
}

// detail is what is wrong, and for a failure that may be the check's own,
// how to skip it.
func (e *validationError) detail() string {
	if e.err.Limitation() {
		return e.err.Error() + "; if the code runs on the platform, set " + e.skip + " to skip validation"
	}
	return e.err.Error()
}
func (e *validationError) Unwrap() error { return e.err }

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
	case isBuildError(err):
		return "", fmt.Errorf("validate the %s %s: its evaluation variant does not build (set %s to skip validation): %w",
			kind, p.relative(entry), d.cfg.names.setting("validate", "false"), d.buildFailed(kind, entry, err))
	case errors.As(err, &ve):
		e := &validationError{kind: kind, entry: p.relative(entry), err: ve, skip: d.cfg.names.setting("validate", "false")}
		if ve.Pos.File != "" && ve.Pos.File != validate.Outfile {
			d.log.annotate("error", p.relative(ve.Pos.File), ve.Pos.Line, ve.Pos.Column, e.detail())
		} else { // no place in the code: the entry point is where it starts
			d.log.annotate("error", p.relative(entry), 1, 1, e.detail())
		}
		return "", e
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

// xstateMissing reports a variant build that failed because xstate is not
// installed: the upload, which leaves xstate to the platform, built.
func xstateMissing(err error) bool {
	var be *bundle.BuildError
	if !errors.As(err, &be) {
		return false
	}
	return slices.ContainsFunc(be.Messages, func(m bundle.Message) bool {
		return m.Unresolved != "" && bundle.KindOfImport(m.Unresolved) == bundle.XstateImport
	})
}

func isBuildError(err error) bool {
	var be *bundle.BuildError
	return errors.As(err, &be)
}
