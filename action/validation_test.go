package action

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sbdeploy/validate"
)

// validationFixtures is where the code that validation must refuse lives.
const validationFixtures = "../testdata/validate"

// TestValidation runs each fixture through the action against the
// emulator: refused code sends no request and fails (exit code 1) saying
// what is wrong, with an annotation where the engine knows the place; with
// validate: false the same code reaches the emulator. Which code passes and
// what each refusal says is validate's to test (validate.TestCheck); these
// fixtures cover what the action adds: each kind checked, a refusal from
// XState itself, an annotation, the time limit passed on, and the advice
// to skip validation for a failure that may be the check's own (a limit, a
// web API that the sandbox lacks), and only for one.
func TestValidation(t *testing.T) {
	t.Parallel()
	const skip = "; if the code runs on the platform, set validate: false to skip validation"
	tests := []struct {
		fixture    string
		source     string // the fixture's code, if it has no file in validationFixtures
		migration  bool
		want       string        // in the error; "" for code that passes
		advice     bool          // the error ends with skip
		annotation string        // "" when the engine gives no place
		timeout    time.Duration // of the evaluation; 0 for the default
	}{
		{fixture: "machine.ts"},
		{fixture: "migration.ts", migration: true},
		{fixture: "missing-state.ts", want: "machine.definition failed: Error: Invalid transition definition for state node 'toggle.off'"},
		{fixture: "migration-not-function.ts", migration: true, want: "upgradeState is not a function (it is a number)"},
		{fixture: "infinite-loop.ts", want: "evaluation did not finish within 200ms, the check's time limit", advice: true,
			timeout: 200 * time.Millisecond},
		{fixture: "throws.ts", want: "the code threw at the top level: Error: setting region is missing",
			annotation: "::error col=9,file=app/checks/throws.ts,line=5::"},
		{fixture: "initial.ts", source: `import { createMachine } from "xstate";
export default createMachine({ id: "t", predictableActionArguments: true, initial: "pendng", states: { pending: {} } });
export const allowRead = () => true;
export const allowWrite = () => true;
`, want: `the initial state of #t, "pendng", is not one of its states (pending)`,
			annotation: "::error col=84,file=app/checks/initial.ts,line=2::the initial state of #t"},
		{fixture: "web-api.ts", source: `export const upgradeState = (s: unknown) => s;
const api = new URL("https://example.com/v1");
export const upgradeContext = (c: unknown) => ({ ...(c as object), api: api.href });
`, migration: true, want: "the validation sandbox lacks URL", advice: true,
			annotation: "::error col=17,file=app/checks/web-api.ts,line=2::the code threw at the top level: ReferenceError: URL is not defined"},
	}
	for _, tt := range tests {
		for _, validating := range []string{"true", "false"} {
			t.Run(tt.fixture+" validate "+validating, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t)
				src := tt.source
				if src == "" {
					b, err := os.ReadFile(filepath.Join(validationFixtures, tt.fixture))
					if err != nil {
						t.Fatal(err)
					}
					src = string(b)
				}
				h.write(t, "app/checks/"+tt.fixture, src)
				if !tt.migration {
					versionMode(h)
				}
				h.env["INPUT_FILE"] = "checks/" + tt.fixture
				h.env["INPUT_VALIDATE"] = validating
				if validating == "true" {
					h.installXstate(t)
				}
				if tt.timeout != 0 {
					h.opts = append(slices.Clone(h.opts), withValidation(validate.Options{Timeout: tt.timeout}))
				}
				start := time.Now()
				stdout, _, err := h.run(t)
				if validating == "false" || tt.want == "" {
					if err != nil {
						t.Fatalf("run: %v\n%s", err, stdout)
					}
					if len(h.em.Requests()) != 3 {
						t.Errorf("%d requests, want the 3 of a deploy", len(h.em.Requests()))
					}
					if validating == "true" && !strings.Contains(readFile(t, h.summary), "| Validation (") {
						t.Errorf("the summary does not report the validation:\n%s", readFile(t, h.summary))
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) || ExitCode(err) != 1 {
					t.Fatalf("err = %v (exit code %d), want exit code 1 and %q", err, ExitCode(err), tt.want)
				}
				if advises := strings.HasSuffix(err.Error(), skip); advises != tt.advice {
					t.Errorf("the error advises to skip validation: %t, want %t: %v", advises, tt.advice, err)
				}
				if n := len(h.em.Requests()); n != 0 {
					t.Errorf("%d requests sent for code that failed validation", n)
				}
				if tt.annotation != "" && !strings.Contains(stdout, tt.annotation) {
					t.Errorf("no annotation %q:\n%s", tt.annotation, stdout)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("took %v", d)
				}
			})
		}
	}
}

// TestValidationWithoutXstate: a machine version cannot be evaluated
// without xstate installed, and says how to fix that; a migration that
// imports xstate is deployed without validation, with a notice.
func TestValidationWithoutXstate(t *testing.T) {
	t.Parallel()
	t.Run("machine version", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		versionMode(h)
		h.env["INPUT_VALIDATE"] = "true" // and xstate not installed
		_, _, err := h.run(t)
		if err == nil || !strings.Contains(err.Error(), "evaluating it needs xstate installed: install the app's packages") ||
			!strings.Contains(err.Error(), "or set validate: false") {
			t.Fatalf("err = %v", err)
		}
		if n := len(h.em.Requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
	t.Run("migration", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.env["INPUT_VALIDATE"] = "true" // and xstate not installed
		h.write(t, "app/migrations/uses-xstate.ts", `import { State } from "xstate";
export const upgradeState = (s: unknown) => (s instanceof State ? s.value : s);
export const upgradeContext = (c: unknown) => c;
`)
		h.env["INPUT_FILE"] = "migrations/uses-xstate.ts"
		stdout, _, err := h.run(t)
		if err != nil {
			t.Fatalf("run: %v\n%s", err, stdout)
		}
		if !strings.Contains(stdout, "::notice::the migration app/migrations/uses-xstate.ts was not validated: it imports xstate, which is not installed here") {
			t.Errorf("no notice that validation was skipped:\n%s", stdout)
		}
		if !strings.Contains(readFile(t, h.summary), "| Validation (migration) | skipped: the migration imports xstate") {
			t.Errorf("summary:\n%s", readFile(t, h.summary))
		}
	})
}
