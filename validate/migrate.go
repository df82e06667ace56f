package validate

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/dop251/goja"

	"sbdeploy/bundle"
)

// maxConfigurations bounds how many of the old machine's state
// configurations the static check calls upgradeContext with: parallel
// states multiply them.
const maxConfigurations = 256

// migrationJS are the functions that a migration check calls in the
// sandbox: call calls one of the migration's functions with arguments
// given as JSON; path and plain read what it returned, upgradeState's
// state keys and upgradeContext's context, and say what is wrong with it,
// shown only if show (a replay's values are the instance's data).
//
//go:embed js/migration.js
var migrationJS string

// Describe evaluates script, the evaluation variant of a machine version,
// checks its default export as Check does, and describes the machine.
func Describe(ctx context.Context, script []byte, opts Options) (*Machine, error) {
	s := newSandbox(script)
	var m *Machine
	err := s.do(ctx, opts, func() error {
		exports, err := s.module()
		if err != nil {
			return err
		}
		machine, err := s.machine(exports)
		if err != nil {
			return err
		}
		v, err := s.js.describe(goja.Undefined(), machine)
		if err != nil {
			return s.thrown(BadDefinition, err)
		}
		var d struct {
			States  []State         `json:"states"`
			Events  []string        `json:"events"`
			Context json.RawMessage `json:"context"`
		}
		if err := json.Unmarshal([]byte(v.String()), &d); err != nil || len(d.States) == 0 {
			return fmt.Errorf("validate: describe the machine: %v", err)
		}
		m = &Machine{Root: d.States[0], States: d.States[1:], Events: d.Events, Context: d.Context}
		return nil
	})
	return m, err
}

// Migration is a migration's code, evaluated, between two machines.
type Migration struct {
	s        *sandbox
	opts     Options
	from, to *Machine
	state    goja.Value // upgradeState
	context  goja.Value // upgradeContext
	// calling is the call under way, to name when it does not return.
	calling atomic.Pointer[Failure]
	// stopped is the interrupt that stopped a call; nil while none did.
	stopped error
	// instance is the instance being replayed; "" in the static check.
	instance string
}

// NewMigration evaluates script, the evaluation variant of a migration
// from machine from to machine to, and checks its exports as Check does.
// opts bounds the evaluation, and then each Static or Replay call.
func NewMigration(ctx context.Context, script []byte, from, to *Machine, opts Options) (*Migration, error) {
	m := &Migration{s: newSandbox(script), opts: opts, from: from, to: to}
	err := m.s.do(ctx, opts, func() error {
		exports, err := m.s.module()
		if err != nil {
			return err
		}
		if err := m.s.functions(exports, Functions(bundle.Migration)...); err != nil {
			return err
		}
		m.state, m.context = exports.Get("upgradeState"), exports.Get("upgradeContext")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Plan is where a migration takes instances, as the static check found.
type Plan struct {
	// Mappings are each leaf state of the old machine and the leaf states
	// of the new machine that upgradeState puts it in (none if it failed).
	Mappings []Mapping
	// Unreached are the new machine's leaf states that no old one is put
	// in (history states left out).
	Unreached []string
	// Failures are the calls that failed, in the old machine's order.
	Failures []Failure
	// ContextUnknown says that upgradeContext was not called: the old
	// machine makes its context from the instance's input.
	ContextUnknown bool
}

// Mapping is one old leaf state and where it goes.
type Mapping struct {
	Old string
	New []string
}

// FailureKind says what kind of thing went wrong, for counting.
type FailureKind string

const (
	KindThrew       FailureKind = "threw"                  // the function threw, or what it returned did when read
	KindNoReturn    FailureKind = "did not return"         // within the time or memory bound
	KindNoPath      FailureKind = "returned no state path" // upgradeState's answer is not an array of keys
	KindNoSuchState FailureKind = "no such state in the new machine"
	KindApart       FailureKind = "put states that cannot be active at once" // a configuration's new states
	KindNotJSON     FailureKind = "returned no JSON object"                  // upgradeContext's answer
	KindNotCalled   FailureKind = "state not in from-machine-file"           // the instance's state value cannot be called with
)

// Failure is one call of the migration that would break an instance.
type Failure struct {
	Instance string // the instance replayed; "" in the static check
	Kind     FailureKind
	Function string   // upgradeState or upgradeContext
	Old      string   // the old state (or states, for upgradeContext) it was called with
	Why      string   // what went wrong
	Pos      Position // where it threw, if it did
}

func (f Failure) String() string {
	var b strings.Builder
	if f.Instance != "" {
		fmt.Fprintf(&b, "instance %s: ", f.Instance)
	}
	b.WriteString(f.Function)
	if f.Old != "" {
		fmt.Fprintf(&b, "(%s)", f.Old)
	}
	fmt.Fprintf(&b, " %s", f.Why)
	if f.Pos.File != "" {
		fmt.Fprintf(&b, " (at %s)", f.Pos)
	}
	return b.String()
}

// MigrationError is a migration that fails the check: the failures, the
// first few of them if there are many.
type MigrationError struct {
	Failures []Failure
	Count    int // all of them
}

func (e *MigrationError) Error() string {
	lines := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		lines[i] = f.String()
	}
	more := ""
	if e.Count > len(e.Failures) {
		more = fmt.Sprintf(" (the first %d of %d)", len(e.Failures), e.Count)
	}
	return fmt.Sprintf("the migration would break instances%s: %s", more, strings.Join(lines, "; "))
}

// Static calls upgradeState with every leaf state of the old machine and
// its initial context, then upgradeContext with configurations of the old
// machine that hold every leaf (at most maxConfigurations) and where
// upgradeState put them. When the old machine's context is made from the
// instance's input, upgradeState gets {} and upgradeContext is not called
// (Plan.ContextUnknown). Each call has the time limit of its own.
func (m *Migration) Static(ctx context.Context) (*Plan, error) {
	plan := &Plan{ContextUnknown: string(m.from.Context) == "null"}
	context := m.from.Context
	if plan.ContextUnknown {
		context = json.RawMessage("{}")
	}
	err := m.do(ctx, func() error {
		mapped := map[string][][]string{} // by jsonText: names with dots in keys would collide
		reached := map[string]bool{}
		for _, old := range m.from.Leaves() {
			leaves, f := m.upgradeState(old, context, true)
			if m.stopped != nil {
				return m.stopped
			}
			mp := Mapping{Old: Name(old)}
			if f != nil {
				plan.Failures = append(plan.Failures, *f)
			} else {
				mapped[jsonText(old)] = leaves
				for _, l := range leaves {
					mp.New = append(mp.New, Name(l))
					reached[jsonText(l)] = true
				}
			}
			plan.Mappings = append(plan.Mappings, mp)
		}
	configs:
		for _, config := range m.from.Configurations(maxConfigurations) {
			var news [][]string
			for _, old := range config {
				l, ok := mapped[jsonText(old)]
				if !ok {
					continue configs // upgradeState failed for it: reported
				}
				news = append(news, l...)
			}
			f := m.together(config, news, true)
			if f == nil && !plan.ContextUnknown {
				f = m.upgradeContext(config, news, context, true)
			}
			if m.stopped != nil {
				return m.stopped
			}
			if f != nil {
				plan.Failures = append(plan.Failures, *f)
			}
		}
		for _, s := range m.to.States {
			if s.leaf() && s.Type != "history" && !reached[jsonText(s.Path)] {
				plan.Unreached = append(plan.Unreached, Name(s.Path))
			}
		}
		return nil
	})
	return plan, err
}

// together fails a configuration that upgradeState put in states of the
// new machine that cannot be active at once.
func (m *Migration) together(olds, news [][]string, show bool) *Failure {
	a, b, ok := m.to.Together(news)
	if ok {
		return nil
	}
	f := &Failure{Function: "upgradeState", Kind: KindApart, Old: jsonText(olds), Why: "put the instance in states of the new machine that cannot be active at once"}
	if show {
		f.Why += ": " + jsonText(a) + " and " + jsonText(b) + " are not regions of one parallel state"
	}
	return f
}

// Instance is an instance's state, read from the API, to replay the
// migration on.
type Instance struct {
	Name    string
	State   json.RawMessage // its state value
	Context json.RawMessage // its context: private, never reported
}

// Replay runs the migration on each instance's own state and context, as
// the platform will when it moves the instance, and returns the failures,
// at most one per instance. Neither the context nor what the functions
// return or throw is reported, only what kind of thing went wrong. Each
// call has the time limit of its own.
func (m *Migration) Replay(ctx context.Context, instances []Instance) ([]Failure, error) {
	var failures []Failure
	err := m.do(ctx, func() error {
		for _, in := range instances {
			m.instance = in.Name
			f := m.replay(in)
			if m.stopped != nil {
				return m.stopped
			}
			if f != nil {
				f.Instance = in.Name
				failures = append(failures, *f)
			}
		}
		return nil
	})
	return failures, err
}

func (m *Migration) replay(in Instance) *Failure {
	olds, err := LeavesOf(in.State)
	if err != nil {
		return &Failure{Function: "upgradeState", Kind: KindNotCalled, Why: "cannot be called: the instance's state value is not one this check reads"}
	}
	var news [][]string
	for _, old := range olds {
		if s, ok := m.from.state(old); !ok || !s.leaf() {
			// Not a state of the machine: the server's text, not shown.
			return &Failure{Function: "upgradeState", Kind: KindNotCalled,
				Why: "cannot be called: the instance is in a state that from-machine-file does not have as a leaf state: is it the source of from-version?"}
		}
		leaves, f := m.upgradeState(old, in.Context, false)
		if f != nil || m.stopped != nil {
			return f
		}
		news = append(news, leaves...)
	}
	if f := m.together(olds, news, false); f != nil {
		return f
	}
	return m.upgradeContext(olds, news, in.Context, false)
}

// upgradeState calls upgradeState(old, context) and resolves its answer in
// the new machine. show says whether what it returned may be shown.
func (m *Migration) upgradeState(old []string, context json.RawMessage, show bool) ([][]string, *Failure) {
	f := &Failure{Function: "upgradeState", Old: jsonText(old)}
	r, ok := m.call(f, m.state, m.s.js.path, show, old, context)
	if !ok {
		return nil, f
	}
	o := r.ToObject(m.s.vm)
	if why := o.Get("why"); why != nil {
		f.Kind, f.Why = KindNoPath, why.String()
		return nil, f
	}
	var path []string
	if err := m.s.vm.ExportTo(o.Get("path"), &path); err != nil {
		f.Kind, f.Why = KindNoPath, "returned something that cannot be read as state keys"
		return nil, f
	}
	leaves, ok := m.to.Resolve(path)
	if !ok {
		f.Kind = KindNoSuchState
		f.Why = "returned a path that names no state of the new machine"
		if show {
			f.Why = "returned " + jsonText(path) + ", which names no state of the new machine (to-machine-file)"
		}
		return nil, f
	}
	return leaves, nil
}

// upgradeContext calls upgradeContext(olds, news, context) and checks that
// it returns a context that JSON keeps as it is.
func (m *Migration) upgradeContext(olds, news [][]string, context json.RawMessage, show bool) *Failure {
	f := &Failure{Function: "upgradeContext", Old: jsonText(olds)}
	why, ok := m.call(f, m.context, m.s.js.plain, show, olds, news, context)
	if !ok {
		return f
	}
	if w := why.String(); w != "" {
		f.Kind, f.Why = KindNotJSON, w
		return f
	}
	return nil
}

// builtinErrors are the names of the errors the language throws, which a
// replay may show: a name the code sets could hold the instance's data.
var builtinErrors = []string{"Error", "TypeError", "RangeError", "ReferenceError", "SyntaxError", "EvalError", "URIError", "AggregateError"}

// call calls fn, the call that f describes, with args, copied into the
// sandbox as JSON, and then read (path or plain) with what fn returned
// and show; it returns what read returned. If either throws, or args are
// not JSON, it sets f's Kind, Why and Pos and returns false: a throw's
// message only if show, else the error's name if it is a built-in one;
// a throw while what fn returned was read (a getter, a Proxy) says so.
// An interrupt sets m.stopped. Each call restarts the time limit.
func (m *Migration) call(f *Failure, fn goja.Value, read goja.Callable, show bool, args ...any) (goja.Value, bool) {
	data, err := json.Marshal(args)
	if err != nil {
		f.Kind, f.Why = KindNotCalled, "cannot be called: "+err.Error()
		return nil, false
	}
	record := *f
	record.Instance = m.instance
	m.calling.Store(&record)
	m.s.restart()
	v, err := m.s.js.call(goja.Undefined(), fn, m.s.vm.ToValue(string(data)))
	if err != nil {
		if ve := m.thrown(err); ve != nil {
			f.Kind, f.Why, f.Pos = KindThrew, "threw", ve.Pos
			name, _, _ := strings.Cut(ve.Message, ":")
			switch {
			case show:
				f.Why = "threw " + ve.Message
			case slices.Contains(builtinErrors, name):
				f.Why = "threw " + name
			}
		}
		return nil, false
	}
	r, err := read(goja.Undefined(), v, m.s.vm.ToValue(show))
	if err != nil {
		if ve := m.thrown(err); ve != nil {
			f.Kind, f.Why, f.Pos = KindThrew, "returned something that threw when it was read", ve.Pos
			if show {
				f.Why += ": " + ve.Message
			}
		}
		return nil, false
	}
	return r, true
}

// thrown returns the *Error of a throw; for an interrupt, or another
// failure of the engine, it sets m.stopped and returns nil.
func (m *Migration) thrown(err error) *Error {
	var ve *Error
	var ie *goja.InterruptedError
	if errors.As(err, &ie) || !errors.As(m.s.thrown(Threw, err), &ve) {
		m.stopped = err
		return nil
	}
	return ve
}

// do runs fn on the engine within the bounds, each call of the migration
// with a time limit of its own; a call that does not return in time, or
// allocates past the bound, is named in a *MigrationError.
func (m *Migration) do(ctx context.Context, fn func() error) error {
	if m.s.stuck {
		return errors.New("validate: the engine is still running a call of the migration it was told to stop")
	}
	m.calling.Store(nil)
	m.stopped, m.instance = nil, ""
	err := m.s.do(ctx, m.opts, fn)
	var e *Error
	if errors.As(err, &e) && (e.Reason == Timeout || e.Reason == TooMuchMemory) {
		if what := m.calling.Load(); what != nil {
			f := *what
			f.Kind, f.Why = KindNoReturn, "did not return within "+e.Limit
			if e.Reason == TooMuchMemory {
				f.Why = "allocated more than " + e.Limit + " of memory"
			}
			return &MigrationError{Count: 1, Failures: []Failure{f}}
		}
	}
	return err
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
