package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// private marks the private data of instance states: no error may hold it.
const private = "s3cr3t"

// stateConfig has toggle's instances knob, on ver_2 with a nested state and
// a private context, and bulb with the emulator's default state; and bare's
// instance ghost, on no version.
func stateConfig() emulator.Config {
	return emulator.Config{
		Machines:          map[string][]string{"toggle": {"ver_1", "ver_2"}, "bare": nil},
		Instances:         map[string][]string{"toggle": {"knob", "bulb"}, "bare": {"ghost"}},
		InstanceVersions:  map[string]map[string]string{"toggle": {"knob": "ver_2"}},
		VersionClientInfo: map[string]string{"ver_2": "v2.0.0"},
		InstanceStates: map[string]map[string]emulator.InstanceState{"toggle": {"knob": {
			State:   json.RawMessage(`{"on":{"dimmed":"low"},"timer":"idle"}`),
			Context: json.RawMessage(`{"owner":"` + private + `","level":0.25,"log":[1,null]}`),
		}}},
	}
}

func TestInstanceState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		machine, instance string
		want              deploy.InstanceState
	}{
		{name: "a nested state and its context", machine: "toggle", instance: "knob", want: deploy.InstanceState{
			State:   json.RawMessage(`{"on":{"dimmed":"low"},"timer":"idle"}`),
			Context: json.RawMessage(`{"owner":"` + private + `","level":0.25,"log":[1,null]}`),
			Version: deploy.VersionInfo{ID: "ver_2", CreatedAt: "2024-01-01T00:02:00.000Z", ClientInfo: "v2.0.0"},
		}},
		{name: "the default state", machine: "toggle", instance: "bulb", want: deploy.InstanceState{
			State: json.RawMessage(`"idle"`), Context: json.RawMessage(`{}`),
			Version: deploy.VersionInfo{ID: "ver_1", CreatedAt: "2024-01-01T00:01:00.000Z"},
		}},
		{name: "no version said", machine: "bare", instance: "ghost", want: deploy.InstanceState{
			State: json.RawMessage(`"idle"`), Context: json.RawMessage(`{}`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, stateConfig())
			got, err := newClient(t, url).InstanceState(context.Background(), tt.machine, tt.instance)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("InstanceState mismatch (-want +got):\n%s", diff)
			}
			reqs := em.Requests()
			if len(reqs) != 1 || reqs[0].Step != emulator.StepReadInstance || reqs[0].Method != "GET" || reqs[0].Path != "/machines/"+tt.machine+"/i/"+tt.instance+"/admin" {
				t.Errorf("requests %+v, want one GET /machines/%s/i/%s/admin", reqs, tt.machine, tt.instance)
			}
		})
	}
}

// TestInstanceStateAPIErrors checks that a refusal reaches the caller as an
// *APIError with the facts to act on: a missing scope named, not-found
// told apart.
func TestInstanceStateAPIErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      func(*emulator.Config)
		instance string
		want     deploy.APIError // Message is not compared
		scope    string          // MissingScope
		notFound bool
	}{
		{name: "a CI key's scopes", cfg: func(c *emulator.Config) { c.Scopes = emulator.CIScopes() }, instance: "knob",
			want: deploy.APIError{Step: deploy.StepReadInstance, Status: 403, Code: "missing-scope"}, scope: "instances.admin"},
		{name: "unknown instance", instance: "latch",
			want: deploy.APIError{Step: deploy.StepReadInstance, Status: 404, Code: "not-found"}, notFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := stateConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			em, url := testkit.Emulator(t, cfg)
			got, err := newClient(t, url).InstanceState(context.Background(), "toggle", tt.instance)
			var apiErr *deploy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("InstanceState = %+v, %v; want an *APIError", got, err)
			}
			e := *apiErr
			e.Message = ""
			if diff := cmp.Diff(tt.want, e); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if s := apiErr.MissingScope(); s != tt.scope {
				t.Errorf("MissingScope() = %q, want %q", s, tt.scope)
			}
			if deploy.IsNotFound(err) != tt.notFound {
				t.Errorf("IsNotFound(%v) = %t, want %t", err, !tt.notFound, tt.notFound)
			}
			if n := len(em.Requests()); n != 1 {
				t.Errorf("%d requests, want 1: a 4xx is not retried", n)
			}
		})
	}
}

// TestInstanceStateRefused checks that an answer the client cannot use is
// refused, saying what was wrong with it and never what the state or
// context held.
func TestInstanceStateRefused(t *testing.T) {
	t.Parallel()
	const (
		ver       = `"machineVersion":{"id":"ver_1","createdAt":"2024-01-01T00:00:00.000Z","clientInfo":""}`
		ctxMember = `"context":{"owner":"` + private + `"}`
		state     = `"state":{"on":"` + private + `"}`
	)
	tests := []struct {
		name, body string
		want       string // in the error
	}{
		{name: "a state that is a number", body: `{"state":1,` + ctxMember + `,` + ver + `}`, want: "the state is a number, want a JSON string or object"},
		{name: "a state that is an array", body: `{"state":["on","` + private + `"],` + ctxMember + `,` + ver + `}`, want: "the state is an array"},
		{name: "a state that is null", body: `{"state":null,` + ctxMember + `,` + ver + `}`, want: "the state is null"},
		{name: "a state that is a boolean", body: `{"state":true,` + ctxMember + `,` + ver + `}`, want: "the state is a boolean"},
		{name: "no state", body: `{` + ctxMember + `,` + ver + `}`, want: "the state is missing"},
		{name: "a context that is an array", body: `{` + state + `,"context":["` + private + `"],` + ver + `}`, want: "the context is an array, want a JSON object"},
		{name: "a context that is a string", body: `{` + state + `,"context":"` + private + `",` + ver + `}`, want: "the context is a string"},
		{name: "a context that is null", body: `{` + state + `,"context":null,` + ver + `}`, want: "the context is null"},
		{name: "no context", body: `{` + state + `,` + ver + `}`, want: "the context is missing"},
		{name: "a version ID with a slash", body: `{` + state + `,` + ctxMember + `,"machineVersion":{"id":"ver/../x"}}`, want: `invalid version id "ver/../x"`},
		{name: "a version ID that holds the token", body: `{` + state + `,` + ctxMember + `,"machineVersion":{"id":"` + token + ` x"}}`, want: "invalid version id"},
		{name: "a version that is not an object", body: `{` + state + `,` + ctxMember + `,"machineVersion":"ver_1"}`, want: "is not the expected JSON"},
		{name: "an answer over the size bound", body: `{` + state + `,` + ctxMember + `,"pad":"` + strings.Repeat("x", 1<<20) + `"}`, want: "is larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, stateConfig())
			em.FailNext(emulator.StepReadInstance, 1, http.StatusOK, tt.body)
			got, err := newClient(t, url).InstanceState(context.Background(), "toggle", "knob")
			if err == nil || got != nil {
				t.Fatalf("InstanceState = %+v, %v; want an error", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), string(deploy.StepReadInstance)) {
				t.Errorf("error %q, want it to name %s and say %q", err, deploy.StepReadInstance, tt.want)
			}
			if strings.Contains(err.Error(), private) {
				t.Errorf("error %q echoes the instance's state or context", err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q holds the token", err)
			}
			if n := len(em.Requests()); n != 1 {
				t.Errorf("%d requests, want 1: an unusable answer is not retried", n)
			}
		})
	}
}

// TestInstanceStateRetries checks that the read follows the client's retry
// policy: a 503 and a 429 are tried again, and the answer after them used.
func TestInstanceStateRetries(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, stateConfig())
	em.InjectSequence(emulator.StepReadInstance, testkit.Fault{Status: 503}, testkit.Fault{Status: 429, Header: http.Header{"Retry-After": {"1"}}})
	got, err := newClient(t, url).InstanceState(context.Background(), "toggle", "knob")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.State) != `{"on":{"dimmed":"low"},"timer":"idle"}` {
		t.Errorf("state %s, want the seeded one", got.State)
	}
	if n := len(em.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// TestInstanceStateNames checks that a name the API would reject is refused
// before any request.
func TestInstanceStateNames(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, machine, instance string }{
		{name: "instance with a slash", machine: "toggle", instance: "knob/../x"},
		{name: "empty instance", machine: "toggle", instance: ""},
		{name: "machine with a dot", machine: "tog.gle", instance: "knob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, stateConfig())
			if _, err := newClient(t, url).InstanceState(context.Background(), tt.machine, tt.instance); err == nil {
				t.Error("InstanceState succeeded, want an error")
			}
			if n := len(em.Requests()); n != 0 {
				t.Errorf("%d requests, want none", n)
			}
		})
	}
}
