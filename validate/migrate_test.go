package validate

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// machineV1 has every kind of state node: atomic, compound, parallel,
// final and history.
const machineV1 = `import { createMachine } from "xstate";
export default createMachine({
  id: "m", predictableActionArguments: true, initial: "off", context: { n: 1 },
  states: {
    off: { on: { toggle: "on" } },
    on: { type: "parallel", on: { toggle: "off" }, states: {
      a: { initial: "x", states: { x: { on: { go: "y" } }, y: {}, hist: { type: "history" } } },
      b: { initial: "p", states: { p: { on: { end: "q" } }, q: { type: "final" } } },
    } },
  },
});
export const allowRead = () => true, allowWrite = () => true;
`

// machineV2 renames off and on, adds a state and an event, and drops go.
var machineV2 = strings.NewReplacer(`"off"`, `"disabled"`, `off:`, `disabled:`, `"on"`, `"enabled"`, `on: { type`, `enabled: { type`,
	`go: "y"`, `jump: "z"`, `y: {}`, `y: {}, z: {}`).Replace(machineV1)

const goodMigration = `const renamed: Record<string, string> = { off: "disabled", on: "enabled" };
export function upgradeState(path: string[], context: any): string[] {
  return [renamed[path[0]] ?? path[0], ...path.slice(1)];
}
export function upgradeContext(olds: string[][], news: string[][], context: any) {
  return { ...context, version: 2 };
}
`

func describe(t *testing.T, source string) *Machine {
	t.Helper()
	m, err := Describe(context.Background(), variantOf(t, source), relaxed())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	m := describe(t, machineV1)
	names := func(paths [][]string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, Name(p))
		}
		return out
	}
	if got, want := names(m.Leaves()), []string{"off", "on.a.x", "on.a.y", "on.a.hist", "on.b.p", "on.b.q"}; !reflect.DeepEqual(got, want) {
		t.Errorf("leaves %q, want %q", got, want)
	}
	var configs []string
	for _, c := range m.Configurations(100) {
		configs = append(configs, strings.Join(names(c), "+"))
	}
	// Regions side by side: every leaf but the history state is in one.
	if want := []string{"off", "on.a.x+on.b.p", "on.a.y+on.b.q"}; !reflect.DeepEqual(configs, want) {
		t.Errorf("configurations %q, want %q", configs, want)
	}
	if got := len(m.Configurations(2)); got != 2 {
		t.Errorf("%d configurations with at most 2", got)
	}
	for leaves, want := range map[string]bool{"on.a.x on.b.p": true, "on.a.x on.a.y": false, "off on.b.p": false, "on.a.x on.a.x": true} {
		var paths [][]string
		for _, l := range strings.Fields(leaves) {
			paths = append(paths, strings.Split(l, "."))
		}
		if _, _, ok := m.Together(paths); ok != want {
			t.Errorf("Together(%s) = %v", leaves, ok)
		}
	}
	for path, want := range map[string][]string{
		"on":     {"on.a.x", "on.b.p"}, // a parallel state: each region's initial
		"on.a":   {"on.a.x"},           // a compound state: its initial
		"on.a.y": {"on.a.y"},
		"on.a.z": nil,
		"":       nil, // the root is not a state an instance is put in
	} {
		var p []string
		if path != "" {
			p = strings.Split(path, ".")
		}
		leaves, ok := m.Resolve(p)
		if got := names(leaves); !reflect.DeepEqual(got, want) || ok != (want != nil) {
			t.Errorf("Resolve(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
	if want := []string{"end", "go", "toggle"}; !reflect.DeepEqual(m.Events, want) {
		t.Errorf("events %q, want %q", m.Events, want)
	}
	if string(m.Context) != `{"n":1}` {
		t.Errorf("context %s", m.Context)
	}
	d := DiffOf(m, describe(t, machineV2))
	want := Diff{StatesAdded: []string{"disabled", "enabled", "enabled.a", "enabled.a.x", "enabled.a.y", "enabled.a.z", "enabled.a.hist", "enabled.b", "enabled.b.p", "enabled.b.q"},
		StatesRemoved: []string{"off", "on", "on.a", "on.a.x", "on.a.y", "on.a.hist", "on.b", "on.b.p", "on.b.q"},
		EventsAdded:   []string{"jump"}, EventsRemoved: []string{"go"}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("diff\n%+v\nwant\n%+v", d, want)
	}
}

func TestLeavesOf(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]string{
		`"off"`:                             `[["off"]]`,
		`{"on":{"a":"x","b":"p"}}`:          `[["on","a","x"],["on","b","p"]]`,
		`{"on":{"b":{"deep":"q"},"a":"y"}}`: `[["on","a","y"],["on","b","deep","q"]]`,
		`{"on":{}}`:                         "error",
		`{"on":3}`:                          "error",
		`[1]`:                               "error",
	} {
		got, err := LeavesOf(json.RawMessage(value))
		text := jsonText(got)
		if err != nil {
			text = "error"
		}
		if text != want {
			t.Errorf("LeavesOf(%s) = %s (%v), want %s", value, text, err, want)
		}
	}
}

func TestStaticCheck(t *testing.T) {
	t.Parallel()
	from, to := describe(t, machineV1), describe(t, machineV2)
	tests := []struct {
		name, migration string
		opts            Options
		want            []string // each failure, as Failure.String
		wantErr         string
	}{
		{name: "good", migration: goodMigration},
		{
			name:      "forgets a renamed state",
			migration: strings.Replace(goodMigration, `off: "disabled", `, "", 1),
			want:      []string{`upgradeState(["off"]) returned ["off"], which names no state of the new machine (to-machine-file)`},
		},
		{
			name:      "returns a string",
			migration: strings.Replace(goodMigration, "return [renamed[path[0]] ?? path[0], ...path.slice(1)];", "return renamed[path[0]] as any;", 1),
			want: []string{`upgradeState(["off"]) returned a string ("disabled"), not an array of state keys`,
				`upgradeState(["on","a","x"]) returned a string ("enabled"), not an array of state keys`,
				`upgradeState(["on","a","y"]) returned a string ("enabled"), not an array of state keys`,
				`upgradeState(["on","a","hist"]) returned a string ("enabled"), not an array of state keys`,
				`upgradeState(["on","b","p"]) returned a string ("enabled"), not an array of state keys`,
				`upgradeState(["on","b","q"]) returned a string ("enabled"), not an array of state keys`},
		},
		{
			name:      "returns no context",
			migration: strings.Replace(goodMigration, "return { ...context, version: 2 };", "context.version = 2;", 1),
			want: []string{`upgradeContext([["off"]]) returned undefined, not a context object`,
				`upgradeContext([["on","a","x"],["on","b","p"]]) returned undefined, not a context object`,
				`upgradeContext([["on","a","y"],["on","b","q"]]) returned undefined, not a context object`},
		},
		{
			name: "puts one region in another's state",
			migration: strings.Replace(goodMigration, "return [renamed[path[0]] ?? path[0], ...path.slice(1)];",
				`return path[1] === "b" ? ["enabled", "a", "y"] : [renamed[path[0]] ?? path[0], ...path.slice(1)];`, 1),
			want: []string{`upgradeState([["on","a","x"],["on","b","p"]]) put the instance in states of the new machine that cannot be active at once: ["enabled","a","x"] and ["enabled","a","y"] are not regions of one parallel state`},
		},
		{
			name:      "a context JSON changes",
			migration: strings.Replace(goodMigration, "version: 2", `at: { when: olds[0][0] === "off" ? new Date(0) : 0 }`, 1),
			want:      []string{`upgradeContext([["off"]]) returned a context that JSON changes: context.at.when is a Date, which JSON does not keep as it is`},
		},
		{
			name:      "throws",
			migration: strings.Replace(goodMigration, "  return [", "  if (path[0] === \"on\" && path[2] === \"y\") throw new TypeError(\"no y\");\n  return [", 1),
			want:      []string{`upgradeState(["on","a","y"]) threw TypeError: no y (at entry.ts:3:50)`},
		},
		{
			name:      "never returns",
			migration: strings.Replace(goodMigration, "  return [", "  while (path[0] === \"on\") {}\n  return [", 1),
			opts:      Options{Timeout: 300 * time.Millisecond, MaxHeapBytes: relaxed().MaxHeapBytes},
			wantErr:   `upgradeState(["on","a","x"]) did not return within 300ms`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := NewMigration(context.Background(), variantOf(t, tt.migration), from, to, relaxed())
			if err != nil {
				t.Fatal(err)
			}
			if tt.opts != (Options{}) {
				m.opts = tt.opts
			}
			plan, err := m.Static(context.Background())
			if tt.wantErr != "" {
				var me *MigrationError
				if !errors.As(err, &me) || !strings.HasPrefix(me.Failures[0].String(), tt.wantErr) || me.Failures[0].Kind != KindNoReturn {
					t.Fatalf("err = %v, want a *MigrationError starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range plan.Failures {
				got = append(got, f.String())
				if f.Kind == "" {
					t.Errorf("failure %q has no kind", f)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("failures\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if tt.name == "good" {
				if want := []Mapping{{"off", []string{"disabled"}}, {"on.a.x", []string{"enabled.a.x"}}, {"on.a.y", []string{"enabled.a.y"}},
					{"on.a.hist", []string{"enabled.a.hist"}}, {"on.b.p", []string{"enabled.b.p"}}, {"on.b.q", []string{"enabled.b.q"}}}; !reflect.DeepEqual(plan.Mappings, want) {
					t.Errorf("mappings %v, want %v", plan.Mappings, want)
				}
				if want := []string{"enabled.a.z"}; !reflect.DeepEqual(plan.Unreached, want) {
					t.Errorf("unreached %q, want %q", plan.Unreached, want)
				}
			}
		})
	}
}

// TestReplay checks that replay calls the migration with each instance's
// own state and context, and reports what failed without the context.
func TestReplay(t *testing.T) {
	t.Parallel()
	from, to := describe(t, machineV1), describe(t, machineV2)
	migration := strings.Replace(goodMigration, "return { ...context, version: 2 };",
		`if (context.email.endsWith("@old.example")) throw new Error("bad address " + context.email);
  if (context.email.startsWith("thrower")) throw context.email + ": no plan";
  if (context.email.startsWith("keyed")) return { ...context, byEmail: { [context.email]: undefined } };
  return { ...context, version: 2, plan: context.plan.toUpperCase() };`, 1)
	m, err := NewMigration(context.Background(), variantOf(t, migration), from, to, relaxed())
	if err != nil {
		t.Fatal(err)
	}
	failures, err := m.Replay(context.Background(), []Instance{
		{Name: "ok", State: json.RawMessage(`{"on":{"a":"y","b":"q"}}`), Context: json.RawMessage(`{"email":"a@new.example","plan":"pro"}`)},
		{Name: "old-address", State: json.RawMessage(`"off"`), Context: json.RawMessage(`{"email":"secret@old.example","plan":"pro"}`)},
		{Name: "no-plan", State: json.RawMessage(`"off"`), Context: json.RawMessage(`{"email":"b@new.example"}`)},
		{Name: "other-version", State: json.RawMessage(`"secret-standby"`), Context: json.RawMessage(`{}`)},
		{Name: "thrower", State: json.RawMessage(`"off"`), Context: json.RawMessage(`{"email":"thrower-secret@example.com"}`)},
		{Name: "keyed", State: json.RawMessage(`"off"`), Context: json.RawMessage(`{"email":"keyed-secret@example.com"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range failures {
		got = append(got, f.String())
	}
	want := []string{
		`instance old-address: upgradeContext([["off"]]) threw Error (at entry.ts:6:53)`,
		`instance no-plan: upgradeContext([["off"]]) threw TypeError (at entry.ts:9:50)`,
		`instance other-version: upgradeState cannot be called: the instance is in a state that from-machine-file does not have as a leaf state: is it the source of from-version?`,
		`instance thrower: upgradeContext([["off"]]) threw (at entry.ts:7:44)`,
		`instance keyed: upgradeContext([["off"]]) returned a context that JSON changes: a value in the context is undefined, which JSON leaves out`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failures\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(strings.Join(got, " "), "secret") {
		t.Error("a failure shows the instance's context")
	}
	var kinds []FailureKind
	for _, f := range failures {
		kinds = append(kinds, f.Kind)
	}
	if want := []FailureKind{KindThrew, KindThrew, KindNotCalled, KindThrew, KindNotJSON}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds %q, want %q", kinds, want)
	}
}

// TestXState5Machine checks a machine of XState 5's shape: its state nodes
// under root (here a parallel one), events in Maps, and a context made from
// the input, which the static check does not have: upgradeContext is then
// not called with a made-up one.
func TestXState5Machine(t *testing.T) {
	t.Parallel()
	const machine = `const leaf = (id: string) => ({ id, type: "atomic", config: {}, states: {}, transitions: new Map() });
const region = (id: string, a: string, b: string, event: string) => ({ id, type: "compound", config: { initial: { target: a } },
  states: { [a]: leaf(id + "." + a), [b]: leaf(id + "." + b) }, transitions: new Map([[event, [{ eventType: event, target: [] }]]]) });
const root = { id: "m", type: "parallel", config: {}, states: { a: region("m.a", "x", "y", "GO"), b: region("m.b", "p", "q", "STOP") },
  transitions: new Map([["RESET", [{ eventType: "RESET", target: [] }]]]) };
export default { __xstatenode: true, definition: {}, root, states: root.states, config: { context: ({ input }: any) => ({ items: input.items }) } };
export const allowRead = () => true, allowWrite = () => true;
`
	m := describe(t, machine)
	if m.Root.Type != "parallel" || string(m.Context) != "null" || !reflect.DeepEqual(m.Events, []string{"GO", "RESET", "STOP"}) {
		t.Errorf("root %+v, context %s, events %q", m.Root, m.Context, m.Events)
	}
	var configs []string
	for _, c := range m.Configurations(100) {
		var names []string
		for _, p := range c {
			names = append(names, Name(p))
		}
		configs = append(configs, strings.Join(names, "+"))
	}
	if want := []string{"a.x+b.p", "a.y+b.q"}; !reflect.DeepEqual(configs, want) {
		t.Errorf("configurations %q, want %q", configs, want)
	}
	mig, err := NewMigration(context.Background(), variantOf(t, `export const upgradeState = (p: string[]) => p;
export const upgradeContext = (o: unknown, n: unknown, c: any) => ({ count: c.items.length });
`), m, m, relaxed())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := mig.Static(context.Background())
	if err != nil || len(plan.Failures) > 0 || !plan.ContextUnknown {
		t.Errorf("plan %+v, %v: want no failure, and upgradeContext not called", plan, err)
	}
}
