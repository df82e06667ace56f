package action

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestModeTable checks that every mode says everything a mode must say, so
// that a mode added without one of its parts fails here instead of falling
// through to another mode's; that the inputs the modes list are inputs;
// and that --help lists each mode and its outputs.
func TestModeTable(t *testing.T) {
	t.Parallel()
	var help strings.Builder
	usage(&help)
	seen := map[string]bool{}
	for _, m := range modeTable {
		switch {
		case m.name == "" || seen[m.name]:
			t.Errorf("mode %q: a mode needs a name of its own", m.name)
		case m.usage == "" || m.load == nil || m.run == nil || m.rows == nil || len(m.outputs) == 0:
			t.Errorf("mode %s lacks its usage, load, run, rows or outputs: %+v", m.name, m)
		case m.titles.done == "" || m.titles.dryRun == "" || m.titles.failed == "":
			t.Errorf("mode %s lacks a title: %+v", m.name, m.titles)
		case m.migration != noMigration && !slices.Contains(m.inputs, "from-version"):
			t.Errorf("mode %s deploys a migration but takes no from-version", m.name)
		case (m.version || m.migration != noMigration) && !slices.Contains(m.inputs, "file"):
			t.Errorf("mode %s deploys code but takes no file", m.name)
		}
		seen[m.name] = true
		for _, name := range m.inputs {
			if !slices.ContainsFunc(inputs, func(in input) bool { return in.name == name }) {
				t.Errorf("mode %s takes %s, which is not an input", m.name, name)
			}
		}
		described := regexp.MustCompile(`(?m)^  ` + m.name + ` +` + regexp.QuoteMeta(m.usage) + `$`)
		outputs := regexp.MustCompile(`(?m)^  ` + m.name + `: +` + regexp.QuoteMeta(strings.Join(m.outputs, ", ")) + `$`)
		if !described.MatchString(help.String()) || !outputs.MatchString(help.String()) {
			t.Errorf("--help does not describe mode %s and its outputs:\n%s", m.name, help.String())
		}
	}
	if modeNamed(lookupInput("mode").def) != modeTable[0] {
		t.Errorf("the mode input's default %q is not the table's first mode", lookupInput("mode").def)
	}
}
