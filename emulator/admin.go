package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// InstanceState is an instance's state value and context, as the admin read
// answers them. A field that is nil (or empty) takes the default's.
type InstanceState struct {
	// State is the StateValue: a JSON string naming a top-level atomic
	// state, or an object mapping each active parent state to its child's
	// StateValue (several keys for a parallel state).
	State json.RawMessage
	// Context is the instance's full context: a JSON object.
	Context json.RawMessage
}

// The state and context of an instance that neither Config.InstanceStates
// nor Config.DefaultInstanceState gives one.
var (
	defaultState   = json.RawMessage(`"idle"`)
	defaultContext = json.RawMessage(`{}`)
)

// adminState is the answer to a read-instance request.
type adminState struct {
	State   json.RawMessage `json:"state"`
	Context json.RawMessage `json:"context"`
	Tags    []string        `json:"tags"` // never null
	Done    bool            `json:"done"`
	Status  string          `json:"status"`
	// MachineVersion is absent only if the instance's machine had no
	// version when it was seeded, as in the listing.
	MachineVersion        *versionInfo `json:"machineVersion,omitempty"`
	DesiredMachineVersion *versionInfo `json:"desiredMachineVersion,omitempty"`
	CreatedAt             string       `json:"createdAt"`
}

// readInstance answers GET /machines/{slug}/i/{instance}/admin: the
// instance's full state, context included. The API runs no authorizer for
// it; the scope instances.admin is all it asks.
func (e *Emulator) readInstance(r *http.Request, _ []byte, m *machine) (any, *apiError) {
	in := m.instance(r.PathValue("instance"))
	if in == nil {
		return nil, notFound("instance")
	}
	// The raw values are never changed once seeded, so they may be encoded
	// after e.mu is released.
	s := adminState{State: in.state, Context: in.context, Tags: []string{}, Status: in.status(),
		MachineVersion: m.version(in.version), CreatedAt: in.createdAt}
	if s.State == nil {
		s.State = e.cfg.DefaultInstanceState.State
	}
	if s.Context == nil {
		s.Context = e.cfg.DefaultInstanceState.Context
	}
	if in.desired != "" {
		s.DesiredMachineVersion = m.version(in.desired)
	}
	return s, nil
}

// seedState returns s checked and compacted, each field a copy, so that
// the answer is the seeded JSON byte for byte once compacted and the
// caller's slices may change; a field that is nil or empty stays nil. It
// panics, naming the config field where, if the state is not a StateValue
// or the context not a JSON object.
func seedState(s InstanceState, where string) InstanceState {
	var out InstanceState
	if len(s.State) > 0 {
		var v any
		if json.Unmarshal(s.State, &v) != nil || !isStateValue(v) {
			panic(fmt.Sprintf("emulator: %s.State is %.100s, which is not a StateValue (a JSON string, or an object whose every value is a StateValue)", where, s.State))
		}
		out.State = compact(s.State)
	}
	if len(s.Context) > 0 {
		var obj map[string]json.RawMessage
		if json.Unmarshal(s.Context, &obj) != nil || obj == nil {
			panic(fmt.Sprintf("emulator: %s.Context is %.100s, which is not a JSON object", where, s.Context))
		}
		out.Context = compact(s.Context)
	}
	return out
}

// isStateValue reports whether v, decoded JSON, is a StateValue: a string,
// or a non-empty object whose every value is a StateValue.
func isStateValue(v any) bool {
	switch v := v.(type) {
	case string:
		return true
	case map[string]any:
		for _, child := range v {
			if !isStateValue(child) {
				return false
			}
		}
		return len(v) > 0
	}
	return false
}

// compact returns valid JSON raw without insignificant space, in a new slice.
func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	_ = json.Compact(&b, raw) // raw was decoded: it is valid
	return b.Bytes()
}
