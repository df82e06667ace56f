package validate

import (
	"fmt"
	"strings"
)

// Reason says what is wrong with the code.
type Reason int

const (
	// NotFunction: an export that must be a function is not one.
	NotFunction Reason = iota + 1
	// NotMachine: the default export is not an XState machine.
	NotMachine
	// BadDefinition: reading machine.definition threw, or gave nothing.
	BadDefinition
	// Threw: evaluating the module's top level threw.
	Threw
	// Syntax: the engine cannot parse or compile the code, which esbuild
	// accepted: the code uses a feature that goja lacks.
	Syntax
	// Timeout: the evaluation did not finish within Options.Timeout.
	Timeout
	// TooMuchMemory: the heap grew past Options.MaxHeapBytes.
	TooMuchMemory
	// BadInitial: a state's initial names none of its child states, or a
	// state with child states and no initial is one that the machine
	// enters without naming a child. machine.definition does not throw for
	// either; XState throws when an instance enters the state.
	BadInitial
)

var reasonNames = [...]string{NotFunction: "NotFunction", NotMachine: "NotMachine", BadDefinition: "BadDefinition", Threw: "Threw",
	Syntax: "Syntax", Timeout: "Timeout", TooMuchMemory: "TooMuchMemory", BadInitial: "BadInitial"}

func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Position is a place in the code: in the original source when the
// variant's sourcemap maps it, otherwise in the script (File is Outfile).
type Position struct {
	File   string // relative to the variant's AbsWorkingDir when mapped
	Line   int    // 1-based
	Column int    // 1-based
}

func (p Position) String() string {
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Error reports code that fails the check. Its message says what is wrong,
// where when the engine tells, and what to do.
type Error struct {
	Reason Reason
	// Export is the export at fault ("allowRead", "default", ...), if any.
	Export string
	// Type is what the export is instead, as JavaScript's typeof says it
	// ("undefined", "number", ...), or "object without __xstatenode".
	Type string
	// Message is the engine's message for a throw ("Error: ..."), if any.
	Message string
	// Pos is where the code threw: the innermost place in the app's own
	// code (outside node_modules) if the stack has one; for BadInitial,
	// where the app's code names the initial state, if one place does.
	// Zero if unknown.
	Pos Position
	// Limit is the bound that was passed, for Timeout and TooMuchMemory.
	Limit string
	// Lacks is what the code used that the sandbox lacks and the platform
	// has, for Threw ("URL", "crypto.subtle"): a global named by a
	// ReferenceError, or read through globalThis where a TypeError was
	// thrown. "" if the throw is the code's own.
	Lacks string
	// State is the state at fault, for BadInitial: "#" and its id, as a
	// transition targets it ("#shop.checkout").
	State string
	// Initial is what State's initial names, for BadInitial; "" if it
	// has none.
	Initial string
	// Children are State's child states, for BadInitial.
	Children []string
	// Entered is how the machine enters State without naming one of its
	// child states, for BadInitial when State has no initial: "when it
	// starts", "on PAY from #shop.cart", "after 100 ms from #shop.cart" or
	// "through an eventless transition of #shop.cart"; "" otherwise.
	Entered string
}

func (e *Error) Error() string {
	switch e.Reason {
	case NotFunction:
		return fmt.Sprintf("%s is not a function (it is %s): export function %s(...)", e.Export, article(e.Type), e.Export)
	case NotMachine:
		return fmt.Sprintf("the default export is not an XState machine: it is %s; export default createMachine(...)", article(e.Type))
	case BadDefinition:
		return "machine.definition failed: " + e.Message + e.at() +
			"; check the states that transitions, initial states and history states name"
	case BadInitial:
		states := "it has none"
		if len(e.Children) > 0 {
			states = strings.Join(e.Children, ", ")
		}
		if e.Entered != "" {
			return fmt.Sprintf("%s has child states (%s) but no initial state, and the machine enters it %s: "+
				"XState 5 throws there, and XState 4 leaves none of them active; set initial to one of them", e.State, states, e.Entered)
		}
		return fmt.Sprintf("the initial state of %s, %q, is not one of its states (%s)%s: XState throws when the machine enters %s; "+
			"set initial to one of its states", e.State, e.Initial, states, e.at(), e.State)
	case Threw:
		msg := "the code threw at the top level: " + e.Message + e.at()
		// A throw of an API the sandbox lacks is explained; the sandbox's
		// own refusals say so themselves.
		if e.Lacks != "" && !strings.Contains(e.Message, sandboxLacks) {
			msg += "; " + sandboxLacks + " " + e.Lacks + ", which the platform's web-standard runtime has: " +
				"use it inside a function rather than at the top level"
		}
		return msg
	case Syntax:
		return "the check's engine cannot parse the code: " + e.Message + e.at() +
			"; the code uses a JavaScript feature that the engine (goja) lacks"
	case Timeout:
		return fmt.Sprintf("evaluation did not finish within %s, the check's time limit: is there an infinite loop at the top level?", e.Limit)
	case TooMuchMemory:
		return fmt.Sprintf("evaluation used more than %s, the check's memory limit: does the top level allocate without bound?", e.Limit)
	}
	return fmt.Sprintf("check failed (%v): %s", e.Reason, e.Message)
}

func (e *Error) at() string {
	if e.Pos.File == "" {
		return ""
	}
	return " at " + e.Pos.String()
}

// Limitation reports whether the failure may be the check's rather than
// the code's, so that the platform may run the code: it used an API that
// the sandbox lacks, or syntax that the engine cannot parse, or it passed
// a bound on time or memory, which the platform's are not.
func (e *Error) Limitation() bool {
	switch e.Reason {
	case Syntax, Timeout, TooMuchMemory:
		return true
	case Threw:
		return e.Lacks != ""
	}
	return false
}

// article puts "a" or "an" before a typeof name; undefined and null have
// none, and a description that has one already is left alone.
func article(typ string) string {
	switch {
	case typ == "undefined" || typ == "null":
		return typ
	case strings.HasPrefix(typ, "object"):
		return "an " + typ
	}
	return "a " + typ
}
