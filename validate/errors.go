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
)

func (r Reason) String() string {
	switch r {
	case NotFunction:
		return "NotFunction"
	case NotMachine:
		return "NotMachine"
	case BadDefinition:
		return "BadDefinition"
	case Threw:
		return "Threw"
	case Syntax:
		return "Syntax"
	case Timeout:
		return "Timeout"
	case TooMuchMemory:
		return "TooMuchMemory"
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
	// code (outside node_modules) if the stack has one. Zero if unknown.
	Pos Position
	// Limit is the bound that was passed, for Timeout and TooMuchMemory.
	Limit string
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
	case Threw:
		return "the code threw at the top level: " + e.Message + e.at() + hint(e.Message)
	case Syntax:
		return "the check's engine cannot parse the code: " + e.Message + e.at() +
			"; the code uses a JavaScript feature that the engine (goja) lacks"
	case Timeout:
		return fmt.Sprintf("evaluation did not finish within %s: is there an infinite loop at the top level?", e.Limit)
	case TooMuchMemory:
		return fmt.Sprintf("evaluation allocated more than %s: does the top level allocate without bound?", e.Limit)
	}
	return fmt.Sprintf("check failed (%v): %s", e.Reason, e.Message)
}

func (e *Error) at() string {
	if e.Pos.File == "" {
		return ""
	}
	return " at " + e.Pos.String()
}

// hint explains the most likely cause of a ReferenceError at the top level:
// the platform has web APIs that the check's sandbox does not.
func hint(message string) string {
	if !strings.HasPrefix(message, "ReferenceError:") {
		return ""
	}
	return " (the check runs the code with ECMAScript's built-ins only, without web or Node APIs" +
		" such as fetch or TextEncoder: use them inside functions rather than at the top level)"
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
