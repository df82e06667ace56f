package validate

import (
	"context"
	"errors"
	"sbdeploy/bundle"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCheck evaluates each fixture in testdata/validate, built as the
// evaluation variant, and compares the error with the one a person should
// see.
func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, entry string
		kind        bundle.Kind
		want        *Error // nil: the code passes
		msg         string // the whole message, if want is not nil
	}{
		{name: "valid machine", entry: "machine.ts", kind: bundle.MachineVersion},
		{name: "valid migration", entry: "migration.ts", kind: bundle.Migration},
		{name: "ES2022 syntax, lowered where goja lacks it", entry: "es2022.ts", kind: bundle.Migration},
		{
			name: "default export is not a machine", entry: "not-machine.ts", kind: bundle.MachineVersion,
			want: &Error{Reason: NotMachine, Export: "default", Type: "object without __xstatenode"},
			msg:  "the default export is not an XState machine: it is an object without __xstatenode; export default createMachine(...)",
		},
		{
			name: "transition to a missing state", entry: "missing-state.ts", kind: bundle.MachineVersion,
			want: &Error{Reason: BadDefinition, Export: "default",
				Message: "Error: Invalid transition definition for state node 'toggle.off': Child state 'nope' does not exist on 'toggle'"},
			msg: "machine.definition failed: Error: Invalid transition definition for state node 'toggle.off': " +
				"Child state 'nope' does not exist on 'toggle'; check the states that transitions, initial states and history states name",
		},
		{
			name: "allowRead is not a function", entry: "allowread-not-function.ts", kind: bundle.MachineVersion,
			want: &Error{Reason: NotFunction, Export: "allowRead", Type: "boolean"},
			msg:  "allowRead is not a function (it is a boolean): export function allowRead(...)",
		},
		{
			name: "upgradeState is not a function", entry: "migration-not-function.ts", kind: bundle.Migration,
			want: &Error{Reason: NotFunction, Export: "upgradeState", Type: "number"},
			msg:  "upgradeState is not a function (it is a number): export function upgradeState(...)",
		},
		{
			name: "machine checked as a migration", entry: "machine.ts", kind: bundle.Migration,
			want: &Error{Reason: NotFunction, Export: "upgradeState", Type: "undefined"},
			msg:  "upgradeState is not a function (it is undefined): export function upgradeState(...)",
		},
		{
			name: "migration checked as a machine version", entry: "migration.ts", kind: bundle.MachineVersion,
			want: &Error{Reason: NotFunction, Export: "allowRead", Type: "undefined"},
			msg:  "allowRead is not a function (it is undefined): export function allowRead(...)",
		},
		{
			name: "throws at the top level, located by the sourcemap", entry: "throws.ts", kind: bundle.MachineVersion,
			want: &Error{Reason: Threw, Message: "Error: setting region is missing", Pos: Position{File: "throws.ts", Line: 5, Column: 9}},
			msg:  "the code threw at the top level: Error: setting region is missing at throws.ts:5:9",
		},
		{
			name: "a library throws, called from the app's line", entry: "library-throws.ts", kind: bundle.MachineVersion,
			want: &Error{Reason: Threw, Message: "Error: Child state node '#open' does not exist on machine 'door'",
				Pos: Position{File: "library-throws.ts", Line: 6, Column: 22}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check(context.Background(), variant(t, tt.entry), tt.kind, relaxed())
			assertError(t, err, tt.want, tt.msg)
		})
	}
}

// relaxed returns the Options of the tests that are not about the limits:
// bounds that a check slowed by the race detector, or sharing the heap with
// tests running in parallel (esbuild builds, infinite loops), cannot reach.
func relaxed() Options {
	return Options{Timeout: 10 * time.Second, MaxHeapBytes: 1 << 30}
}

// assertError fails unless err is want (nil for success) with message msg.
func assertError(t *testing.T, err error, want *Error, msg string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Check: %v, want success", err)
		}
		return
	}
	var got *Error
	if !errors.As(err, &got) {
		t.Fatalf("Check: %v (%T), want an *Error", err, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if msg != "" && err.Error() != msg {
		t.Errorf("message:\n got %s\nwant %s", err, msg)
	}
}

// script wraps a module body as the evaluation variant would, without
// esbuild, for cases that no TypeScript app builds to.
func script(body string) []byte {
	return []byte("var " + GlobalName + " = (() => {\n" + body + "\n})();\n")
}

// TestCheckScripts covers what esbuild output alone does not reach.
func TestCheckScripts(t *testing.T) {
	t.Parallel()
	machine := "default: {__xstatenode: true, definition: {}}"
	auth := "allowRead() {}, allowWrite() {}"
	tests := []struct {
		name, script string
		kind         bundle.Kind
		want         *Error
		msg          string
	}{
		{
			name: "syntax goja cannot parse", script: "var x = {a: };", kind: bundle.Migration,
			want: &Error{Reason: Syntax, Message: "Unexpected token }", Pos: Position{File: Outfile, Line: 1, Column: 13}},
			msg: "the check's engine cannot parse the code: Unexpected token } at sbdeploy-check.js:1:13; " +
				"the code uses a JavaScript feature that the engine (goja) lacks",
		},
		{
			name: "default export is a function", kind: bundle.MachineVersion,
			script: "var " + GlobalName + " = {" + auth + ", default: Object.assign(function () {}, {__xstatenode: true})};",
			want:   &Error{Reason: NotMachine, Export: "default", Type: "function"},
			msg:    "the default export is not an XState machine: it is a function; export default createMachine(...)",
		},
		{
			name: "definition is empty", kind: bundle.MachineVersion,
			script: "var " + GlobalName + " = {" + auth + ", default: {__xstatenode: true, definition: null}};",
			want:   &Error{Reason: BadDefinition, Export: "default", Message: "it is null"},
		},
		{
			name: "allowWrite is a number", kind: bundle.MachineVersion,
			script: "var " + GlobalName + " = {allowRead() {}, allowWrite: 1, " + machine + "};",
			want:   &Error{Reason: NotFunction, Export: "allowWrite", Type: "number"},
			msg:    "allowWrite is not a function (it is a number): export function allowWrite(...)",
		},
		{
			name: "web API that the sandbox lacks, at the top level", kind: bundle.Migration,
			script: string(script(`new URL("https://example.com");`)),
			want: &Error{Reason: Threw, Message: "ReferenceError: URL is not defined",
				Pos: Position{File: Outfile, Line: 2, Column: 5}, Lacks: "URL"},
			msg: "the code threw at the top level: ReferenceError: URL is not defined at sbdeploy-check.js:2:5; " +
				"the validation sandbox lacks URL, which the platform's web-standard runtime has: use it inside a function rather than at the top level",
		},
		{
			name: "an undefined name that is no web API", kind: bundle.Migration,
			script: string(script("const region = regoin;")),
			want: &Error{Reason: Threw, Message: "ReferenceError: regoin is not defined",
				Pos: Position{File: Outfile, Line: 2, Column: 16}},
			msg: "the code threw at the top level: ReferenceError: regoin is not defined at sbdeploy-check.js:2:16",
		},
		{
			name: "runaway recursion", kind: bundle.Migration,
			script: string(script("function f() { return f() + 1; }\nf();")),
			want: &Error{Reason: Threw, Message: "RangeError: Maximum call stack size exceeded",
				Pos: Position{File: Outfile, Line: 2, Column: 24}},
		},
		{
			name: "rejected promise that nothing handles", kind: bundle.Migration,
			script: string(script(`Promise.reject(new Error("no database"));`)),
			want:   &Error{Reason: Threw, Message: "Uncaught (in promise) Error: no database"},
		},
		{
			name: "rejected promise that is handled", kind: bundle.MachineVersion,
			script: string(script(`Promise.reject(new Error("no")).catch(() => {}); return {` + auth + `, ` + machine + `};`)),
		},
		{
			name: "assignment to an undeclared variable, strict as in a module", kind: bundle.Migration,
			script: string(script("leaked = 1;")),
			want: &Error{Reason: Threw, Message: "ReferenceError: leaked is not defined",
				Pos: Position{File: Outfile, Line: 2, Column: 1}},
		},
		{
			name: "export getter throws", kind: bundle.Migration,
			script: "var " + GlobalName + ` = {get upgradeState() { throw new Error("boom"); }};`,
			want:   &Error{Reason: Threw, Message: "Error: boom", Pos: Position{File: Outfile, Line: 1, Column: 54}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check(context.Background(), []byte(tt.script), tt.kind, relaxed())
			assertError(t, err, tt.want, tt.msg)
		})
	}
}

// TestCheckNotAVariant: a script built without GlobalName is the caller's
// mistake, not the code's, so it is not an *Error.
func TestCheckNotAVariant(t *testing.T) {
	t.Parallel()
	err := Check(context.Background(), []byte("var x = 1;"), bundle.Migration, relaxed())
	var e *Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "GlobalName \""+GlobalName+"\"") {
		t.Fatalf("Check: %v (%T), want a plain error that names GlobalName", err, err)
	}
}

// TestCheckRejectsBadArguments: an unknown kind and a negative timeout are
// the caller's mistakes.
func TestCheckRejectsBadArguments(t *testing.T) {
	t.Parallel()
	ok := script("return {upgradeState() {}, upgradeContext() {}};")
	for name, call := range map[string]func() error{
		"zero Kind":        func() error { return Check(context.Background(), ok, 0, Options{}) },
		"negative Timeout": func() error { return Check(context.Background(), ok, bundle.Migration, Options{Timeout: -time.Second}) },
	} {
		var e *Error
		if err := call(); err == nil || errors.As(err, &e) {
			t.Errorf("%s: Check = %v, want a plain error", name, err)
		}
	}
}

// TestThrowInSandboxAtAppLine checks that a throw from the sandbox's own
// code (a web API, a bound of the prelude) is placed at the app's line that
// called it, not at a line of the sandbox's source.
func TestThrowInSandboxAtAppLine(t *testing.T) {
	t.Parallel()
	const exports = "export function upgradeState(s: any) { return s; }\nexport function upgradeContext(c: any) { return c; }\n"
	for _, call := range []string{`new TextDecoder("utf-16le");`, `structuredClone(() => 1);`} {
		err := Check(context.Background(), variantOf(t, exports+"const x = 1;\n  "+call+"\n"), bundle.Migration, relaxed())
		var e *Error
		if !errors.As(err, &e) || e.Reason != Threw || e.Pos.File != "entry.ts" || e.Pos.Line != 4 {
			t.Errorf("%s: err = %v, want a throw at entry.ts:4", call, err)
		}
	}
}
