package action

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
)

// FuzzWriteOutputs checks that any value is either refused or written so
// that reading GITHUB_OUTPUT back gives exactly that one output.
func FuzzWriteOutputs(f *testing.F) {
	f.Add("mvm_0123456789abcdef")
	f.Add("a\nmigration-id=evil")
	f.Add("x\n_GitHubActionsFileCommandDelimeter_\ndeleted<<EOF")
	f.Add("  spaced  ")
	f.Add("")
	f.Fuzz(func(t *testing.T, value string) {
		h := &harness{output: filepath.Join(t.TempDir(), "output")}
		e := env{"GITHUB_OUTPUT": h.output}
		d := &deployer{cfg: &config{mode: modeNamed("migration")}, log: newLogger(true, io.Discard, io.Discard, e.get), getenv: e.get}
		err := d.writeOutputs([]output{{"migration-id", value}})
		if strings.ContainsAny(value, "\r\n") || strings.Contains(value, heredocDelimiter) {
			if err == nil {
				t.Fatalf("wrote a value with a line break or the delimiter: %q", value)
			}
			return
		}
		if err != nil {
			t.Fatalf("writeOutputs(%q): %v", value, err)
		}
		if diff := cmp.Diff(map[string]string{"migration-id": value}, h.outputs(t)); diff != "" {
			t.Errorf("read back (-want +got):\n%s", diff)
		}
	})
}

// TestServerIDsAreCheckedBeforeOutputs checks that an ID the server sends
// that is not one (it climbs out of a path, or is a dot segment) becomes no
// output: the run fails, saying the answer was refused.
func TestServerIDsAreCheckedBeforeOutputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mode   func(*harness)
		step   emulator.Step
		body   string
		output string
	}{
		{"migration ID with a path", func(*harness) {}, emulator.StepFinalize, `{"machineVersionMigrationId":"mvm_x/../../y"}`, "migration-id"},
		{"migration ID that is ..", func(*harness) {}, emulator.StepFinalize, `{"machineVersionMigrationId":".."}`, "migration-id"},
		{"version ID with a percent escape", versionMode, emulator.StepFinalizeVersion, `{"machineVersionId":"ver_%2F..%2Fx"}`, "version-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			tt.mode(h)
			h.em.FailNext(tt.step, 1, 200, tt.body)
			stdout, stderr, err := h.run(t)
			if err == nil {
				t.Fatalf("run succeeded:\n%s", stdout)
			}
			if !strings.Contains(stdout+stderr, "response refused: invalid") {
				t.Errorf("the log does not say the answer was refused:\n%s\n%s", stdout, stderr)
			}
			if got, ok := h.outputs(t)[tt.output]; ok {
				t.Errorf("output %s = %q, want none", tt.output, got)
			}
		})
	}
}
