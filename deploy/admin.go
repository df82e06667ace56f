package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// StepReadInstance reads an instance's full state, context included: GET
// /machines/{machine}/i/{instance}/admin, which needs the scope
// instances.admin.
const StepReadInstance Step = "read-instance"

// InstanceState is an instance's full state, as the admin read answers it.
// State and Context are the user's private data: show neither.
type InstanceState struct {
	State   json.RawMessage `json:"state"`   // the StateValue: a JSON string or object
	Context json.RawMessage `json:"context"` // a JSON object
	// Version is the version the instance runs now; its ID is "" when the
	// server did not say.
	Version VersionInfo `json:"machineVersion"`
}

// InstanceState reads the full state of instance of machine. An answer
// whose state is not a JSON string or object, or whose context is not a
// JSON object, is refused with an error that says what kind of JSON it
// was, never what it held.
func (c *Client) InstanceState(ctx context.Context, machine, instance string) (*InstanceState, error) {
	path, err := instancePath(machine, instance, "/admin")
	if err != nil {
		return nil, err
	}
	var out InstanceState
	if err := c.call(ctx, StepReadInstance, http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, err
	}
	if kind := jsonKind(out.State); kind != "a string" && kind != "an object" {
		return nil, fmt.Errorf("%s response refused: the state is %s, want a JSON string or object", StepReadInstance, kind)
	}
	if kind := jsonKind(out.Context); kind != "an object" {
		return nil, fmt.Errorf("%s response refused: the context is %s, want a JSON object", StepReadInstance, kind)
	}
	if out.Version.ID != "" {
		if err := c.checkVersion(StepReadInstance, out.Version); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

// jsonKind names the kind of a JSON value that decodeJSON has checked, by
// its first byte alone, so that an error can say what was wrong with a
// private value without quoting it.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "missing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
