package validate

import (
	"context"
	"testing"

	"sbdeploy/bundle"
)

// TestInitialStates: a machine whose initial states XState would throw for
// only when an instance enters them fails the check, which names the
// state, what its initial names and what it has, and where the app's code
// names the initial state when one place does. machine.definition
// resolves for every case here, as XState 4 resolves no initial state
// before an instance enters it.
func TestInitialStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		machine string // the argument of createMachine, in entry.ts from line 2
		want    *Error // nil: the machine passes
		msg     string
	}{
		{
			name:    "the machine's initial misspelt",
			machine: `{ id: "t", predictableActionArguments: true, initial: "pendng", states: { pending: {}, done: {} } }`,
			want: &Error{Reason: BadInitial, Export: "default", State: "#t", Initial: "pendng", Children: []string{"pending", "done"},
				Pos: Position{File: "entry.ts", Line: 2, Column: 84}},
			msg: `the initial state of #t, "pendng", is not one of its states (pending, done) at entry.ts:2:84: ` +
				"XState throws when the machine enters #t; set initial to one of its states",
		},
		{
			name: "a nested state's initial misspelt, entered after the start",
			machine: `{
  id: "shop",
  predictableActionArguments: true,
  initial: "cart",
  states: {
    cart: { on: { PAY: "checkout" } },
    checkout: { initial: "payng", states: { paying: {}, paid: {} } },
  },
}`,
			want: &Error{Reason: BadInitial, Export: "default", State: "#shop.checkout", Initial: "payng", Children: []string{"paying", "paid"},
				Pos: Position{File: "entry.ts", Line: 8, Column: 26}},
			msg: `the initial state of #shop.checkout, "payng", is not one of its states (paying, paid) at entry.ts:8:26: ` +
				"XState throws when the machine enters #shop.checkout; set initial to one of its states",
		},
		{
			name:    "a state with its own id",
			machine: `{ id: "t", predictableActionArguments: true, initial: "a", states: { a: { id: "pay", initial: "b", states: { c: {} } } } }`,
			want: &Error{Reason: BadInitial, Export: "default", State: "#pay", Initial: "b", Children: []string{"c"},
				Pos: Position{File: "entry.ts", Line: 2, Column: 124}},
		},
		{
			name:    "an initial on a state without child states",
			machine: `{ id: "t", predictableActionArguments: true, initial: "a", states: { a: { initial: "x" }, b: {} } }`,
			want: &Error{Reason: BadInitial, Export: "default", State: "#t.a", Initial: "x", Children: []string{},
				Pos: Position{File: "entry.ts", Line: 2, Column: 113}},
			msg: `the initial state of #t.a, "x", is not one of its states (it has none) at entry.ts:2:113: ` +
				"XState throws when the machine enters #t.a; set initial to one of its states",
		},
		{
			name:    "an initial from a variable: no position",
			machine: `{ id: "t", predictableActionArguments: true, initial: ["pend", "ng"].join(""), states: { pending: {} } }`,
			want:    &Error{Reason: BadInitial, Export: "default", State: "#t", Initial: "pendng", Children: []string{"pending"}},
		},
		{
			name: "the same misspelling in two places: no position",
			machine: `{ id: "t", predictableActionArguments: true, initial: "pendng", states: { pending: {} } });
export const other = createMachine({ id: "u", predictableActionArguments: true, initial: "pendng", states: { pendng: {} } }`,
			want: &Error{Reason: BadInitial, Export: "default", State: "#t", Initial: "pendng", Children: []string{"pending"}},
		},
		{
			name:    "an initial on a parallel state, which XState ignores",
			machine: `{ id: "t", predictableActionArguments: true, initial: "p", states: { p: { type: "parallel", initial: "zz", states: { x: {}, y: {} } } } }`,
		},
		{
			name:    "no initial on the machine",
			machine: `{ id: "t", predictableActionArguments: true, states: { a: {}, b: {} } }`,
			want:    &Error{Reason: BadInitial, Export: "default", State: "#t", Children: []string{"a", "b"}, Entered: "when it starts"},
			msg: "#t has child states (a, b) but no initial state, and the machine enters it when it starts: " +
				"XState 5 throws there, and XState 4 leaves none of them active; set initial to one of them",
		},
		{
			name:    "no initial on the machine's initial state",
			machine: `{ id: "t", predictableActionArguments: true, initial: "a", states: { a: { states: { x: {}, y: {} } } } }`,
			want:    &Error{Reason: BadInitial, Export: "default", State: "#t.a", Children: []string{"x", "y"}, Entered: "when it starts"},
		},
		{
			name:    "no initial in a parallel region entered at the start",
			machine: `{ id: "t", predictableActionArguments: true, initial: "p", states: { p: { type: "parallel", states: { r: { states: { x: {} } }, s: {} } } } }`,
			want:    &Error{Reason: BadInitial, Export: "default", State: "#t.p.r", Children: []string{"x"}, Entered: "when it starts"},
		},
		{
			name:    "no initial, the target of an event",
			machine: `{ id: "t", predictableActionArguments: true, initial: "a", states: { a: { on: { GO: "c" } }, c: { states: { x: {}, y: {} } } } }`,
			want:    &Error{Reason: BadInitial, Export: "default", State: "#t.c", Children: []string{"x", "y"}, Entered: "on GO from #t.a"},
			msg: "#t.c has child states (x, y) but no initial state, and the machine enters it on GO from #t.a: " +
				"XState 5 throws there, and XState 4 leaves none of them active; set initial to one of them",
		},
		{
			name:    "no initial, the target of a delayed transition",
			machine: `{ id: "t", predictableActionArguments: true, initial: "a", states: { a: { after: { 100: "c" } }, c: { states: { x: {} } } } }`,
			want:    &Error{Reason: BadInitial, Export: "default", State: "#t.c", Children: []string{"x"}, Entered: "after 100 ms from #t.a"},
		},
		{
			name:    "no initial, the target of an eventless transition",
			machine: `{ id: "t", predictableActionArguments: true, initial: "a", states: { a: { always: "c" }, c: { states: { x: {} } } } }`,
			want:    &Error{Reason: BadInitial, Export: "default", State: "#t.c", Children: []string{"x"}, Entered: "through an eventless transition of #t.a"},
		},
		{
			name:    "no initial, entered only through its child states",
			machine: `{ id: "t", predictableActionArguments: true, initial: "a", states: { a: { on: { GO: "c.y" } }, c: { states: { x: {}, y: { on: { BACK: "#t.c.x" } } } } } }`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code := variantOf(t, `import { createMachine } from "xstate";
export default createMachine(`+tt.machine+`);
export const allowRead = () => true;
export const allowWrite = () => true;
`)
			err := Check(context.Background(), code, bundle.MachineVersion, relaxed())
			assertError(t, err, tt.want, tt.msg)
		})
	}
}

// TestInitialStatesXState5 covers the shapes of XState 5's state nodes,
// which testdata's xstate (4) does not have: an initial of the form
// {target}, and transitions in a Map.
func TestInitialStatesXState5(t *testing.T) {
	t.Parallel()
	const auth = "allowRead() {}, allowWrite() {}, "
	node := func(id, typ, config, states, transitions string) string {
		return `{id: "` + id + `", type: "` + typ + `", config: ` + config + `, states: ` + states + `, transitions: ` + transitions + `}`
	}
	leaf := func(id string) string { return node(id, "atomic", "{}", "{}", "new Map()") }
	tests := []struct {
		name, machine string
		want          *Error
	}{
		{
			name:    "initial {target} misspelt",
			machine: node("t", "compound", `{initial: {target: "pendng"}}`, `{pending: `+leaf("t.pending")+`}`, "new Map()"),
			want:    &Error{Reason: BadInitial, Export: "default", State: "#t", Initial: "pendng", Children: []string{"pending"}},
		},
		{
			name:    "initial {target} right",
			machine: node("t", "compound", `{initial: {target: "pending"}}`, `{pending: `+leaf("t.pending")+`}`, "new Map()"),
		},
		{
			name: "no initial, the target of a transition in a Map",
			machine: `(() => { const c = ` + node("t.c", "compound", "{}", `{x: `+leaf("t.c.x")+`}`, "new Map()") + `;
  const a = ` + node("t.a", "atomic", "{}", "{}", `new Map([["GO", [{eventType: "GO", target: [c]}]]])`) + `;
  return ` + node("t", "compound", `{initial: "a"}`, "{a, c}", "new Map()") + `; })()`,
			want: &Error{Reason: BadInitial, Export: "default", State: "#t.c", Children: []string{"x"}, Entered: "on GO from #t.a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code := script("const m = " + tt.machine + ";\nm.__xstatenode = true; m.definition = {};\nreturn {" + auth + "default: m};")
			err := Check(context.Background(), code, bundle.MachineVersion, relaxed())
			assertError(t, err, tt.want, "")
		})
	}
}
