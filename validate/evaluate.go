package validate

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"

	"sbdeploy/bundle"
)

// evaluate runs the prelude and the script, then checks the exports for
// kind, on its own goroutine; supervise interrupts it.
func (s *sandbox) evaluate(kind bundle.Kind) error {
	exports, in, err := s.module()
	if err != nil {
		return err
	}
	if err := in.functions(exports, Functions(kind)...); err != nil || kind != bundle.MachineVersion {
		return err
	}
	_, err = in.machine(exports)
	return err
}

// Functions are the exports of kind that must be functions: all but the
// default export, which is the machine.
func Functions(kind bundle.Kind) []string {
	return slices.DeleteFunc(kind.Exports(), func(name string) bool { return name == "default" })
}

// compile parses the script in strict mode, as the upload is an ES module.
// goja's own sourcemap support is off: it would read a sourcemap file that
// the script names, and source maps the positions this package reports.
func (s *sandbox) compile() (*goja.Program, error) {
	ast, err := parser.ParseFile(nil, Outfile, s.source.script, 0, parser.WithDisableSourceMaps)
	if err != nil {
		e := &Error{Reason: Syntax, Message: err.Error()}
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			p := list[0].Position
			e.Message = list[0].Message
			e.Pos = s.source.original(Position{File: Outfile, Line: p.Line, Column: p.Column})
		}
		return nil, e
	}
	prg, err := goja.CompileAST(ast, true)
	if err != nil {
		return nil, &Error{Reason: Syntax, Message: err.Error()}
	}
	return prg, nil
}

// inspector calls the inspectors in the sandbox, so that getters, proxies
// and interrupts behave as they do for the code itself.
type inspector struct {
	*sandbox
	typeOf, has, get, badInitial goja.Callable
}

func (s *sandbox) inspector() (*inspector, error) {
	v, err := s.vm.RunProgram(programs()[2])
	if err != nil {
		return nil, s.thrown(Threw, err)
	}
	obj := v.ToObject(s.vm)
	in := inspector{sandbox: s}
	for name, f := range map[string]*goja.Callable{"typeOf": &in.typeOf, "has": &in.has, "get": &in.get, "badInitial": &in.badInitial} {
		fn, ok := goja.AssertFunction(obj.Get(name))
		if !ok {
			return nil, fmt.Errorf("validate: inspector %s is not a function", name)
		}
		*f = fn
	}
	return &in, nil
}

// functions checks that each named export is a function.
func (in *inspector) functions(exports *goja.Object, names ...string) error {
	for _, name := range names {
		v, err := in.get(goja.Undefined(), exports, in.vm.ToValue(name))
		if err != nil {
			return in.thrown(Threw, err)
		}
		typ, err := in.typeOf(goja.Undefined(), v)
		if err != nil {
			return in.thrown(Threw, err)
		}
		if t := typ.String(); t != "function" {
			return &Error{Reason: NotFunction, Export: name, Type: t}
		}
	}
	return nil
}

// machine checks the default export as the official CLI does: an object
// with __xstatenode whose definition resolves to something; then that
// every initial state it enters exists, which the definition does not
// resolve. It returns the machine.
func (in *inspector) machine(exports *goja.Object) (goja.Value, error) {
	m, err := in.get(goja.Undefined(), exports, in.vm.ToValue("default"))
	if err != nil {
		return nil, in.thrown(Threw, err)
	}
	typ, err := in.typeOf(goja.Undefined(), m)
	if err != nil {
		return nil, in.thrown(Threw, err)
	}
	if t := typ.String(); t != "object" {
		return nil, &Error{Reason: NotMachine, Export: "default", Type: t}
	}
	has, err := in.has(goja.Undefined(), m, in.vm.ToValue("__xstatenode"))
	if err != nil {
		return nil, in.thrown(Threw, err)
	}
	if !has.ToBoolean() {
		return nil, &Error{Reason: NotMachine, Export: "default", Type: "object without __xstatenode"}
	}
	def, err := in.get(goja.Undefined(), m, in.vm.ToValue("definition"))
	if err != nil {
		return nil, in.thrown(BadDefinition, err)
	}
	if !def.ToBoolean() {
		return nil, &Error{Reason: BadDefinition, Export: "default", Message: "it is " + def.String()}
	}
	return m, in.initials(m)
}

// initials checks the initial states of machine m (see inspectors).
func (in *inspector) initials(m goja.Value) error {
	bad, err := in.badInitial(goja.Undefined(), m)
	if err != nil {
		return in.thrown(BadDefinition, err)
	}
	if goja.IsNull(bad) || goja.IsUndefined(bad) {
		return nil
	}
	o := bad.ToObject(in.vm)
	e := &Error{Reason: BadInitial, Export: "default", State: o.Get("state").String()}
	if err := in.vm.ExportTo(o.Get("children"), &e.Children); err != nil {
		return fmt.Errorf("validate: the children of %s: %w", e.State, err)
	}
	if v := o.Get("entered"); v != nil {
		e.Entered = v.String()
		return e
	}
	e.Initial = o.Get("initial").String()
	e.Pos = in.initialAt(e.Initial)
	return e
}

// initialAt returns where the app's code names initial state name, if
// one place does: a property initial whose value is that string literal,
// outside node_modules. The engine has no position for a value in a
// config, so this reads the script.
func (s *sandbox) initialAt(name string) Position {
	q := regexp.QuoteMeta(name)
	re := regexp.MustCompile(`["']?\binitial["']?\s*:\s*(?:"` + q + `"|'` + q + `'|` + "`" + q + "`)")
	var found []Position
	for _, m := range re.FindAllIndex(s.source.script, -1) {
		at := m[1] - len(name) - 2 // the opening quote
		line := bytes.Count(s.source.script[:at], []byte("\n")) + 1
		col := at - (bytes.LastIndexByte(s.source.script[:at], '\n') + 1) + 1
		p := s.source.original(Position{File: Outfile, Line: line, Column: col})
		if !strings.Contains("/"+p.File, "/node_modules/") {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return Position{}
	}
	return found[0]
}

// thrown turns the engine's error into an *Error of reason r if it is a
// JavaScript throw; interrupts and everything else pass through unchanged.
func (s *sandbox) thrown(r Reason, err error) error {
	var stack []goja.StackFrame
	e := &Error{Reason: r}
	var ex *goja.Exception
	var so *goja.StackOverflowError
	switch {
	case errors.As(err, &ex):
		e.Message, stack = ex.Value().String(), ex.Stack()
	case errors.As(err, &so):
		e.Message, stack = "RangeError: Maximum call stack size exceeded", so.Stack()
	default:
		return err
	}
	e.Message = oneLine(e.Message)
	if r == BadDefinition {
		// The frames are xstate's, which resolves the definition: the
		// message names the state node to fix, the position nothing useful.
		e.Export = "default"
		return e
	}
	e.Pos = s.position(stack)
	e.Lacks = s.lacks(e.Message, stack)
	return e
}

// position returns the innermost frame in the app's own code, outside
// node_modules, or else the innermost frame that has a place at all: the
// line to fix is usually the app's, even when a library threw.
func (s *sandbox) position(stack []goja.StackFrame) Position {
	var first Position
	for _, f := range stack {
		p := f.Position()
		if p.Filename == "" || p.Line == 0 {
			continue // a built-in, or the inspectors
		}
		pos := s.source.original(Position{File: p.Filename, Line: p.Line, Column: p.Column})
		if !strings.Contains("/"+pos.File, "/node_modules/") {
			return pos
		}
		if first.File == "" {
			first = pos
		}
	}
	return first
}

// oneLine puts a message on one line, so that a log shows all of it where
// it shows a first line; xstate's messages span two.
func oneLine(message string) string {
	return strings.ReplaceAll(message, "\n", " ")
}
