package action

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		log := newLogger(true, io.Discard, io.Discard, e.get)
		err := log.writeOutputs(e.get, []output{{"migration-id", value}})
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
