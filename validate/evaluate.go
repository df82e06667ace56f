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

// evaluate runs the script and checks its exports for kind, on the
// engine's goroutine; do supervises it.
func (s *sandbox) evaluate(kind bundle.Kind) error {
	exports, err := s.module()
	if err != nil {
		return err
	}
	if err := s.functions(exports, Functions(kind)...); err != nil || kind != bundle.MachineVersion {
		return err
	}
	_, err = s.machine(exports)
	return err
}

// Functions are the exports of kind that must be functions: all but the
// default export, which is the machine.
func Functions(kind bundle.Kind) []string {
	return slices.DeleteFunc(kind.Exports(), func(name string) bool { return name == "default" })
}

// module runs the web APIs, the prelude and the script, loads the helpers
// into s.js, and returns the script's exports. RunProgram also runs the
// promise jobs that the top level queued.
func (s *sandbox) module() (*goja.Object, error) {
	if err := s.setUp(); err != nil {
		return nil, s.thrown(Threw, err)
	}
	prg, err := s.compile()
	if err != nil {
		return nil, err
	}
	if _, err := s.vm.RunProgram(prg); err != nil {
		return nil, s.thrown(Threw, err)
	}
	if len(s.rejected) > 0 {
		return nil, &Error{Reason: Threw, Message: "Uncaught (in promise) " + oneLine(s.rejected[0].Result().String())}
	}
	exports, ok := s.vm.Get(GlobalName).(*goja.Object)
	if !ok {
		return nil, fmt.Errorf("validate: the script does not set %s: build it as an IIFE with GlobalName %q", GlobalName, GlobalName)
	}
	js := &helpers{}
	if err := s.load(programs().inspectors, map[string]*goja.Callable{
		"typeOf": &js.typeOf, "has": &js.has, "get": &js.get, "badInitial": &js.badInitial, "describe": &js.describe,
	}); err != nil {
		return nil, s.thrown(Threw, err)
	}
	if err := s.load(programs().migration, map[string]*goja.Callable{"call": &js.call, "path": &js.path, "plain": &js.plain}); err != nil {
		return nil, err
	}
	s.js = js
	return exports, nil
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

// helpers are the functions of inspectors and migrationJS in the sandbox,
// which the checks call so that getters, proxies and interrupts behave as
// they do for the code itself.
type helpers struct {
	typeOf, has, get, badInitial, describe goja.Callable // inspectors
	call, path, plain                      goja.Callable // migrationJS
}

// load runs prg, whose value is an object of functions, and sets each of
// fns to the function of its name.
func (s *sandbox) load(prg *goja.Program, fns map[string]*goja.Callable) error {
	v, err := s.vm.RunProgram(prg)
	if err != nil {
		return err
	}
	obj := v.ToObject(s.vm)
	for name, f := range fns {
		fn, ok := goja.AssertFunction(obj.Get(name))
		if !ok {
			return fmt.Errorf("validate: helper %s is not a function", name)
		}
		*f = fn
	}
	return nil
}

// functions checks that each named export is a function.
func (s *sandbox) functions(exports *goja.Object, names ...string) error {
	for _, name := range names {
		v, err := s.js.get(goja.Undefined(), exports, s.vm.ToValue(name))
		if err != nil {
			return s.thrown(Threw, err)
		}
		typ, err := s.js.typeOf(goja.Undefined(), v)
		if err != nil {
			return s.thrown(Threw, err)
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
// resolve (see inspectors). It returns the machine.
func (s *sandbox) machine(exports *goja.Object) (goja.Value, error) {
	m, err := s.js.get(goja.Undefined(), exports, s.vm.ToValue("default"))
	if err != nil {
		return nil, s.thrown(Threw, err)
	}
	typ, err := s.js.typeOf(goja.Undefined(), m)
	if err != nil {
		return nil, s.thrown(Threw, err)
	}
	if t := typ.String(); t != "object" {
		return nil, &Error{Reason: NotMachine, Export: "default", Type: t}
	}
	has, err := s.js.has(goja.Undefined(), m, s.vm.ToValue("__xstatenode"))
	if err != nil {
		return nil, s.thrown(Threw, err)
	}
	if !has.ToBoolean() {
		return nil, &Error{Reason: NotMachine, Export: "default", Type: "object without __xstatenode"}
	}
	def, err := s.js.get(goja.Undefined(), m, s.vm.ToValue("definition"))
	if err != nil {
		return nil, s.thrown(BadDefinition, err)
	}
	if !def.ToBoolean() {
		return nil, &Error{Reason: BadDefinition, Export: "default", Message: "it is " + def.String()}
	}
	bad, err := s.js.badInitial(goja.Undefined(), m)
	if err != nil {
		return nil, s.thrown(BadDefinition, err)
	}
	if goja.IsNull(bad) || goja.IsUndefined(bad) {
		return m, nil
	}
	o := bad.ToObject(s.vm)
	e := &Error{Reason: BadInitial, Export: "default", State: o.Get("state").String()}
	if err := s.vm.ExportTo(o.Get("children"), &e.Children); err != nil {
		return nil, fmt.Errorf("validate: the children of %s: %w", e.State, err)
	}
	if v := o.Get("entered"); v != nil {
		e.Entered = v.String()
	} else {
		e.Initial = o.Get("initial").String()
		e.Pos = s.initialAt(e.Initial)
	}
	return nil, e
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
