package deploy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// APIError is an answer outside 2xx from the API or the upload host.
type APIError struct {
	Step      Step
	Status    int
	Code      string // the API's code (e.g. missing-scope) or S3's (e.g. AccessDenied)
	Parameter string // the rejected parameter, when the API names one
	Message   string // the server's own text, if any
	// RetryAfter is the wait the server asked for (Retry-After), if any.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed: %d %s", e.Step, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Parameter != "" {
		fmt.Fprintf(&b, ", parameter %q", e.Parameter)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if h := e.Hint(); h != "" {
		fmt.Fprintf(&b, "\n  what to do: %s", h)
	}
	return b.String()
}

// Hint says what a person can do about the error, or "" if nothing specific.
func (e *APIError) Hint() string {
	switch {
	case e.Code == "missing-scope":
		return missingScopeHint(e.Step)
	case e.Code == "specify-org":
		return "your user belongs to several organizations: set the org-id input to the org_... ID to deploy to."
	case e.Code == "missing-org":
		return "the token's user is not in the organization named by org-id: check the org-id input."
	case e.Code == "missing-user":
		return "the token is not linked to a StateBacked user: create a new key or token."
	case e.Code == "rejected-by-machine-authorizer":
		return "the machine's authorizer refused this request."
	case e.Code == "no-migration-path":
		return "the API found no migration path between from-version and to-version: check both IDs."
	case e.Code == "invalid-state" && e.Step == StepDeleteMachine:
		return "the machine still has instances, and the API deletes only a machine without any. " +
			"Set delete-instances: true to delete every instance first: that destroys each instance's " +
			"state and history for good."
	case e.Code == "invalid-parameter" && e.Parameter != "":
		return fmt.Sprintf("the API rejected %s: check the input it comes from.", e.Parameter)
	case e.Status == http.StatusUnauthorized:
		return "the token was rejected: it may have expired or be for another environment. " +
			"Check the token input (or the STATEBACKED_TOKEN secret)."
	case e.Step == StepUpload && e.Status == http.StatusForbidden:
		return "the upload host refused the presigned upload, also after provisioning again: " +
			"its message above says why (an expired policy, or an upload that does not match it)"
	case e.Code == "EntityTooLarge":
		return "the code is over the service's size limit."
	case e.Status == http.StatusNotFound && e.Step != StepUpload:
		return "the machine does not exist (or the api-url is wrong): check the machine input, " +
			"or create the machine first."
	case e.Status >= 500:
		return "the service failed; run the step again later."
	}
	return ""
}

// scopes is the scope each step needs (API.md, "Scopes").
var scopes = map[Step]string{
	StepProvision:        "machine-versions.write",
	StepFinalize:         "machine-versions.write",
	StepProvisionVersion: "machine-versions.write",
	StepFinalizeVersion:  "machine-versions.write",
	StepGetMachine:       "machines.read",
	StepCreateMachine:    "machines.write",
	StepDeleteMachine:    "machines.admin",
	StepListInstances:    "instances.read",
	StepDeleteInstance:   "instances.admin",
}

func missingScopeHint(step Step) string {
	scope := scopes[step]
	switch scope {
	case "machine-versions.write", "machines.read", "machines.write":
		return fmt.Sprintf("the token lacks the %s scope. Create a CI key with "+
			"`smply keys create --use ci` (it has that scope) and pass it as key-id and secret-key, "+
			"or a token made from it, from repository secrets.", scope)
	}
	return fmt.Sprintf("the token lacks the %s scope that %s needs; keys made with `smply keys create --use ci` "+
		"do not have it: use a key with that scope for this step.", scope, step)
}

// checkResponse turns an answer outside 2xx into an *APIError, reading at
// most 64 KiB of the body. The body may be JSON (the API), XML (S3), or
// anything else a proxy sends.
func checkResponse(step Step, resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &APIError{Step: step, Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	decodeErrorBody(e, data)
	return e
}

// decodeErrorBody fills e's code, parameter and message from an error body.
func decodeErrorBody(e *APIError, data []byte) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return
	}
	var j struct {
		Error     string `json:"error"`
		Code      string `json:"code"`
		Parameter string `json:"parameter"`
	}
	if json.Unmarshal(data, &j) == nil {
		e.Code, e.Parameter, e.Message = clean(j.Code, 80), clean(j.Parameter, 80), clean(j.Error, 300)
		return
	}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if bytes.HasPrefix(data, []byte("<?xml")) || bytes.HasPrefix(data, []byte("<Error")) {
		if xml.Unmarshal(data, &x) == nil && x.Code != "" {
			e.Code, e.Message = clean(x.Code, 80), clean(x.Message, 300)
			return
		}
	}
	if bytes.HasPrefix(bytes.ToLower(data), []byte("<!doctype html")) || bytes.HasPrefix(bytes.ToLower(data), []byte("<html")) {
		e.Message = "the server answered with an HTML page, not the API's JSON (a proxy or a wrong api-url?)"
		return
	}
	e.Message = clean(string(data), 200)
}

// clean makes server text safe for one log line: no control characters
// (which could start a workflow command), and at most n bytes.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return truncate(strings.TrimSpace(s), n)
}
