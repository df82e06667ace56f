package action

import (
	"context"
	"slices"
	"strings"
)

// mode is one thing the action does, with every fact about it in one value:
// what --help says of it, the inputs it takes besides those every mode
// takes, what it deploys, whether its dry run needs a token, how it checks
// its inputs and runs, what the job summary calls it and shows, and its
// outputs. Adding a mode is a file that defines one (mode_<name>.go) and a
// line in modeTable; a field left out fails TestModeTable.
type mode struct {
	name  string
	usage string // for --help and the mode input's description
	// inputs are the inputs of the table's that this mode takes, of those
	// that not every mode takes (an input no mode lists is every mode's).
	inputs []string
	// version is set for the modes that deploy a machine version.
	version bool
	// migration says when the mode deploys a migration.
	migration migrationRule
	// dryRunNeedsToken is set for modes whose dry run lists the machine's
	// instances, which needs a token.
	dryRunNeedsToken bool
	// load checks the mode's own inputs into c.
	load func(c *config, l loading)
	// run does what the mode says.
	run func(d *deployer, ctx context.Context) error
	// titles are what the job summary calls a run of the mode.
	titles titles
	// rows are the mode's rows of the job summary, after the machine's.
	rows func(r *report, redact func(string) string) []row
	// outputs are the outputs the mode writes.
	outputs []string
}

// migrationRule says when a mode deploys a migration.
type migrationRule int

const (
	noMigration       migrationRule = iota
	alwaysMigration                 // from from-version to to-version
	migrationWithFrom               // to the version the mode deploys, from from-version when it is given
)

// titles are the job summary's titles of a run: done, a dry run, failed.
type titles struct{ done, dryRun, failed string }

// modeTable is every mode, in the order --help lists them; the first is
// the default.
var modeTable = []*mode{modeMigration(), modeVersion(), modeRelease(), modeUpgrade(), modeTeardown()}

// modeNamed is the mode called name, or nil.
func modeNamed(name string) *mode {
	i := slices.IndexFunc(modeTable, func(m *mode) bool { return m.name == name })
	if i < 0 {
		return nil
	}
	return modeTable[i]
}

// modeNames are the modes' names, comma-separated.
func modeNames() string {
	var names []string
	for _, m := range modeTable {
		names = append(names, m.name)
	}
	return strings.Join(names, ", ")
}

// modesTaking are the names of the modes that take input name; nil if every
// mode takes it.
func modesTaking(name string) []string {
	var names []string
	for _, m := range modeTable {
		if slices.Contains(m.inputs, name) {
			names = append(names, m.name)
		}
	}
	return names
}

// checkModeInputs applies one rule to every input: one given to a mode that
// does not take it is an error, since a run that ignored it would not do
// what the workflow says.
func checkModeInputs(src source, m *mode, errs *problems) {
	for _, in := range inputs {
		takers := modesTaking(in.name)
		if takers != nil && !slices.Contains(m.inputs, in.name) && src.given(in.name) {
			errs.add(in.name, "not used by mode %s (only by %s): remove it, or choose one of those modes",
				m.name, strings.Join(takers, ", "))
		}
	}
}
