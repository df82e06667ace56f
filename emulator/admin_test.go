package emulator_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
)

// withState is a config of door's instance bulb with state st, for TestNewPanics.
func withState(machines map[string][]string, st emulator.InstanceState) emulator.Config {
	return emulator.Config{Token: token, Machines: machines, Instances: map[string][]string{"door": {"bulb"}},
		InstanceStates: map[string]map[string]emulator.InstanceState{"door": {"bulb": st}}}
}

// adminConfig is rolloutConfig with states: knob's nested, bulb's a
// string, hinge's context alone; lamp's switch has none.
func adminConfig() emulator.Config {
	cfg := rolloutConfig()
	cfg.InstanceStates = map[string]map[string]emulator.InstanceState{"door": {
		// Spaced, with characters an HTML-safe encoder would escape and
		// a number no float64 holds: all must come back as they are, compacted.
		"knob":  {State: json.RawMessage(` {"open": {"ajar" : "creaking"}, "lock": "unlocked"} `), Context: json.RawMessage(`{"note": "<a & b>", "n": 12345678901234567890123, "nested": {"list": [1, 2.50, null]}}`)},
		"bulb":  {State: json.RawMessage(`"lit"`), Context: json.RawMessage(`{"watts":60}`)},
		"hinge": {Context: json.RawMessage(`{"squeaks":true}`)},
	}}
	return cfg
}

// admin is the admin read's answer, state and context kept as sent.
type admin struct {
	State                 json.RawMessage
	Context               json.RawMessage
	Tags                  []string
	Done                  bool
	Status                string
	MachineVersion        *version
	DesiredMachineVersion *version
	CreatedAt             string
}

type version struct{ ID, CreatedAt, ClientInfo string }

func TestReadInstance(t *testing.T) {
	t.Parallel()
	const created = "2024-01-01T00:05:00.000Z" // after door's four versions
	ver1 := &version{"ver_1", "2024-01-01T00:01:00.000Z", ""}
	ver3 := &version{"ver_3", "2024-01-01T00:03:00.000Z", "v3.0.0"}
	tests := []struct {
		name     string
		cfg      func(*emulator.Config) // changes adminConfig, if set
		path     string
		before   func(t *testing.T, base string)
		want     admin
		wantBody string // the answer byte for byte, if set
	}{
		{name: "a nested state and its context, verbatim", path: "/machines/door/i/knob/admin",
			want: admin{State: json.RawMessage(`{"open":{"ajar":"creaking"},"lock":"unlocked"}`),
				Context: json.RawMessage(`{"note":"<a & b>","n":12345678901234567890123,"nested":{"list":[1,2.50,null]}}`),
				Tags:    []string{}, Status: "running", MachineVersion: ver3, CreatedAt: created},
			wantBody: `{"state":{"open":{"ajar":"creaking"},"lock":"unlocked"},` +
				`"context":{"note":"<a & b>","n":12345678901234567890123,"nested":{"list":[1,2.50,null]}},` +
				`"tags":[],"done":false,"status":"running",` +
				`"machineVersion":{"id":"ver_3","createdAt":"2024-01-01T00:03:00.000Z","clientInfo":"v3.0.0"},` +
				`"createdAt":"` + created + `"}` + "\n"},
		{name: "a top-level state", path: "/machines/door/i/bulb/admin",
			want: admin{State: json.RawMessage(`"lit"`), Context: json.RawMessage(`{"watts":60}`), Tags: []string{}, Status: "running", MachineVersion: ver1, CreatedAt: created}},
		{name: "a context alone takes the default state, paused", path: "/machines/door/i/hinge/admin",
			want: admin{State: json.RawMessage(`"idle"`), Context: json.RawMessage(`{"squeaks":true}`), Tags: []string{}, Status: "paused", MachineVersion: ver1, CreatedAt: created}},
		{name: "no entry: idle and an empty context", path: "/machines/lamp/i/switch/admin",
			want: admin{State: json.RawMessage(`"idle"`), Context: json.RawMessage(`{}`), Tags: []string{}, Status: "running",
				MachineVersion: &version{"ver_a", "2024-01-01T00:01:00.000Z", ""}, CreatedAt: "2024-01-01T00:02:00.000Z"}},
		{name: "no entry: the configured default", path: "/machines/lamp/i/switch/admin",
			cfg: func(cfg *emulator.Config) {
				cfg.DefaultInstanceState = emulator.InstanceState{State: json.RawMessage(`{ "on": "bright" }`), Context: json.RawMessage(`{ "lux": 800 }`)}
			},
			want: admin{State: json.RawMessage(`{"on":"bright"}`), Context: json.RawMessage(`{"lux":800}`), Tags: []string{}, Status: "running",
				MachineVersion: &version{"ver_a", "2024-01-01T00:01:00.000Z", ""}, CreatedAt: "2024-01-01T00:02:00.000Z"}},
		{name: "a state alone takes the default context", path: "/machines/door/i/hinge/admin",
			cfg: func(cfg *emulator.Config) {
				cfg.DefaultInstanceState = emulator.InstanceState{Context: json.RawMessage(`{"fresh":1}`)}
				cfg.InstanceStates["door"]["hinge"] = emulator.InstanceState{State: json.RawMessage(`"swinging"`)}
			},
			want: admin{State: json.RawMessage(`"swinging"`), Context: json.RawMessage(`{"fresh":1}`), Tags: []string{}, Status: "paused", MachineVersion: ver1, CreatedAt: created}},
		{name: "the desired version once set", path: "/machines/door/i/bulb/admin",
			before: func(t *testing.T, base string) {
				if r := setVersion(t, base, "bulb", target("ver_2")); r.status != http.StatusCreated {
					t.Fatalf("set version = %d %s", r.status, r.body)
				}
			},
			want: admin{State: json.RawMessage(`"lit"`), Context: json.RawMessage(`{"watts":60}`), Tags: []string{}, Status: "running", MachineVersion: ver1,
				DesiredMachineVersion: &version{"ver_2", "2024-01-01T00:02:00.000Z", ""}, CreatedAt: created}},
		{name: "no version when the machine has none", path: "/machines/bare/i/ghost/admin",
			want: admin{State: json.RawMessage(`"idle"`), Context: json.RawMessage(`{}`), Tags: []string{}, Status: "running", CreatedAt: "2024-01-01T00:01:00.000Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := adminConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			em, srv := newServer(t, cfg)
			if tc.before != nil {
				tc.before(t, srv.URL)
			}
			r := mustSend(t, "GET", srv.URL+tc.path, apiHeader(), nil)
			var got admin
			if err := json.Unmarshal(r.body, &got); r.status != http.StatusOK || err != nil {
				t.Fatalf("read = %d %s (%v)", r.status, r.body, err)
			}
			// Raw messages compare as bytes: verbatim, not merely equal JSON.
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
			if tc.wantBody != "" && string(r.body) != tc.wantBody {
				t.Errorf("answer\n%s\nwant\n%s", r.body, tc.wantBody)
			}
			reqs := em.Requests()
			if last := reqs[len(reqs)-1]; last.Step != emulator.StepReadInstance || last.Status != http.StatusOK {
				t.Errorf("recorded as %q with status %d, want %q with 200", last.Step, last.Status, emulator.StepReadInstance)
			}
		})
	}
}

// TestReadInstanceSeedsCopied checks that the emulator keeps its own copy of
// a seeded state: the caller's slices may change after New.
func TestReadInstanceSeedsCopied(t *testing.T) {
	t.Parallel()
	cfg := adminConfig()
	st := cfg.InstanceStates["door"]["bulb"]
	_, srv := newServer(t, cfg)
	copy(st.State, `"xxx"`)
	copy(st.Context, `{"xxxxx":0}`)
	r := mustSend(t, "GET", srv.URL+"/machines/door/i/bulb/admin", apiHeader(), nil)
	if !strings.HasPrefix(string(r.body), `{"state":"lit","context":{"watts":60},`) {
		t.Errorf("answer %s, want the state and context as seeded", r.body)
	}
}

func TestReadInstanceRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scopes   []string
		path     string // "" means /machines/door/i/knob/admin
		deleted  bool   // hinge is deleted first
		want     apiErr
		wantText string
	}{
		{name: "with instances.admin alone", scopes: []string{"instances.admin"}, want: apiErr{Status: 200}},
		{name: "a CI key's scopes", scopes: emulator.CIScopes(), want: apiErr{403, "missing-scope", ""}, wantText: "lacks the instances.admin scope"},
		{name: "instances.read is not instances.admin", scopes: []string{"instances.read", "instances.write"}, want: apiErr{403, "missing-scope", ""}, wantText: "instances.admin"},
		{name: "unknown instance", path: "/machines/door/i/latch/admin", want: apiErr{404, "not-found", ""}, wantText: "instance not found"},
		{name: "another machine's instance", path: "/machines/lamp/i/knob/admin", want: apiErr{404, "not-found", ""}, wantText: "instance not found"},
		{name: "unknown machine", path: "/machines/fridge/i/knob/admin", want: apiErr{404, "not-found", ""}, wantText: "machine not found"},
		{name: "a deleted instance", path: "/machines/door/i/hinge/admin", deleted: true, want: apiErr{404, "not-found", ""}, wantText: "instance not found"},
		{name: "instance slug with a dot", path: "/machines/door/i/kn.ob/admin", want: invalid("instanceSlug")},
		{name: "instance slug of 129 characters", path: "/machines/door/i/" + strings.Repeat("k", 129) + "/admin", want: invalid("instanceSlug")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := adminConfig()
			cfg.Scopes = tc.scopes
			_, srv := newServer(t, cfg)
			if tc.deleted {
				if r := deleteInstance(t, srv.URL, "door", "hinge"); r.status != http.StatusNoContent {
					t.Fatalf("delete hinge = %d %s", r.status, r.body)
				}
			}
			r := mustSend(t, "GET", srv.URL+or(tc.path, "/machines/door/i/knob/admin"), apiHeader(), nil)
			got, text := outcome(t, r)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
			if !strings.Contains(text, tc.wantText) {
				t.Errorf("error text %q, want it to contain %q", text, tc.wantText)
			}
			if r.status != http.StatusOK && strings.Contains(string(r.body), "creaking") {
				t.Errorf("refused answer %s carries the instance's state", r.body)
			}
		})
	}
}
