package validate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Machine is what a migration check needs of a machine: its states, the
// events its transitions name, and its initial context.
type Machine struct {
	// Root is the machine's root node: its Path is empty.
	Root State
	// States are the other state nodes, parents before children, in the
	// order the definition lists them.
	States []State
	// Events are the event types that the machine's transitions name,
	// sorted; XState's own (after, done, error) are left out.
	Events []string
	// Context is the initial context, as JSON: "{}" if the machine has
	// none; "null" if it is made from the instance's input (XState 5),
	// which a machine alone does not have.
	Context json.RawMessage
}

// State is one state node.
type State struct {
	Path    []string // the keys from the root, as upgradeState receives them
	Type    string   // atomic, compound, parallel, final or history
	Initial string   // the initial child of a compound state; "" otherwise
}

func (s State) leaf() bool { return s.Type == "atomic" || s.Type == "final" || s.Type == "history" }

// Name is the state's path joined with dots, as the summary shows it.
func Name(path []string) string { return strings.Join(path, ".") }

func (m *Machine) state(path []string) (State, bool) {
	if len(path) == 0 {
		return m.Root, true
	}
	i := slices.IndexFunc(m.States, func(s State) bool { return slices.Equal(s.Path, path) })
	if i < 0 {
		return State{}, false
	}
	return m.States[i], true
}

// Children returns the child states of the state at path, in order.
func (m *Machine) Children(path []string) []State {
	var out []State
	for _, s := range m.States {
		if len(s.Path) == len(path)+1 && slices.Equal(s.Path[:len(path)], path) {
			out = append(out, s)
		}
	}
	return out
}

// Leaves returns the paths upgradeState is called with: every atomic, final
// and history state.
func (m *Machine) Leaves() [][]string {
	var out [][]string
	for _, s := range m.States {
		if s.leaf() {
			out = append(out, s.Path)
		}
	}
	return out
}

// Resolve returns the leaf paths that an instance placed in the state at
// path is in: the state itself if it is a leaf; a compound state's initial
// descendants; each region's of a parallel state. ok is false if path
// names no state (the root is none), or a state whose initial descendants
// do not resolve.
func (m *Machine) Resolve(path []string) (leaves [][]string, ok bool) {
	s, ok := m.state(path)
	if !ok || len(path) == 0 {
		return nil, false
	}
	switch {
	case s.leaf():
		return [][]string{s.Path}, true
	case s.Type == "parallel":
		for _, region := range m.Children(path) {
			l, ok := m.Resolve(region.Path)
			if !ok {
				return nil, false
			}
			leaves = append(leaves, l...)
		}
		return leaves, len(leaves) > 0
	case s.Initial != "":
		return m.Resolve(append(slices.Clip(path), s.Initial))
	}
	return nil, false
}

// Configurations returns sets of leaf paths an instance of the machine
// can be in at once, at most limit of them, so that every leaf but history
// states is in one: one leaf for each state outside a parallel state; for
// a parallel state, its regions' configurations side by side (the i-th of
// each, a region with fewer repeating its last), not every combination,
// which would multiply.
func (m *Machine) Configurations(limit int) [][][]string {
	var configs func(path []string) [][][]string
	configs = func(path []string) [][][]string {
		s, _ := m.state(path)
		switch {
		case s.Type == "history":
			return nil
		case s.leaf():
			return [][][]string{{s.Path}}
		case s.Type == "parallel":
			var regions [][][][]string
			n := 0
			for _, region := range m.Children(path) {
				c := configs(region.Path)
				if len(c) > 0 {
					regions = append(regions, c)
					n = max(n, len(c))
				}
			}
			out := make([][][]string, n)
			for i := range out {
				for _, r := range regions {
					out[i] = append(out[i], r[min(i, len(r)-1)]...)
				}
			}
			return out
		}
		var out [][][]string
		for _, child := range m.Children(path) {
			out = append(out, configs(child.Path)...)
		}
		return out
	}
	out := configs(nil)
	return out[:min(len(out), limit)]
}

// Together reports whether an instance can be in all of leaves at once:
// any two of them part below a parallel state. It returns the first two
// that cannot, if any.
func (m *Machine) Together(leaves [][]string) (a, b []string, ok bool) {
	for i := range leaves {
		for j := i + 1; j < len(leaves); j++ {
			k := 0
			for k < len(leaves[i]) && k < len(leaves[j]) && leaves[i][k] == leaves[j][k] {
				k++
			}
			if k == len(leaves[i]) && k == len(leaves[j]) {
				continue // the same state
			}
			if s, _ := m.state(leaves[i][:k]); s.Type != "parallel" {
				return leaves[i], leaves[j], false
			}
		}
	}
	return nil, nil, true
}

// LeavesOf returns the leaf paths of a state value, as an instance's state
// is read: a string names a top-level state; an object maps a state to its
// child's state value, with one key per region of a parallel state.
func LeavesOf(value json.RawMessage) ([][]string, error) {
	var walk func(v any, path []string) ([][]string, error)
	walk = func(v any, path []string) ([][]string, error) {
		switch v := v.(type) {
		case string:
			return [][]string{append(slices.Clip(path), v)}, nil
		case map[string]any:
			if len(v) == 0 {
				return nil, fmt.Errorf("the state value at %q is an empty object", Name(path))
			}
			var out [][]string
			for _, k := range slices.Sorted(maps.Keys(v)) {
				l, err := walk(v[k], append(slices.Clip(path), k))
				if err != nil {
					return nil, err
				}
				out = append(out, l...)
			}
			return out, nil
		}
		return nil, fmt.Errorf("the state value at %q is neither a string nor an object", Name(path))
	}
	var v any
	if err := json.Unmarshal(value, &v); err != nil {
		return nil, fmt.Errorf("the state value is not JSON: %w", err)
	}
	return walk(v, nil)
}

// Diff is what changed between two versions of a machine.
type Diff struct {
	StatesAdded, StatesRemoved []string // state names (Name), in document order
	EventsAdded, EventsRemoved []string // sorted
}

// DiffOf compares the old version of a machine with the new.
func DiffOf(old, new *Machine) Diff {
	names := func(m *Machine) []string {
		var out []string
		for _, s := range m.States {
			out = append(out, Name(s.Path))
		}
		return out
	}
	o, n := names(old), names(new)
	return Diff{
		StatesAdded: missing(n, o), StatesRemoved: missing(o, n),
		EventsAdded: missing(new.Events, old.Events), EventsRemoved: missing(old.Events, new.Events),
	}
}

// missing returns the items of a that b lacks, in a's order.
func missing(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
