package deploy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
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
	// HTML reports an HTML page instead of the API's JSON: a proxy's page,
	// or a base URL that is not the API.
	HTML bool
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
	return b.String()
}

// MissingScope is the scope a 403 missing-scope answer is about: the one
// the server's message names, else the one the step needs (docs/api.md,
// "Scopes"). It is "" for any other answer.
func (e *APIError) MissingScope() string {
	if e.Code != "missing-scope" {
		return ""
	}
	for _, word := range strings.FieldsFunc(e.Message, func(r rune) bool { return r == ' ' || r == '"' || r == '\'' || r == ',' || r == ':' }) {
		if slices.Contains(knownScopes, word) {
			return word
		}
	}
	return stepScopes[e.Step]
}

// knownScopes are the API's key scopes.
var knownScopes = []string{
	"events.write", "events.read", "state.read", "instances.read", "instances.write", "instances.admin",
	"machines.read", "machines.write", "machines.admin", "machine-versions.read", "machine-versions.write",
	"analytics.read", "org.read", "org.write", "org.keys.write", "org-members.write", "logs.read", "tokens.admin",
}

// stepScopes are the scopes the API requires for each step (docs/api.md,
// "Scopes").
var stepScopes = map[Step]string{
	StepProvision:          "machine-versions.write",
	StepFinalize:           "machine-versions.write",
	StepProvisionVersion:   "machine-versions.write",
	StepFinalizeVersion:    "machine-versions.write",
	StepListVersions:       "machine-versions.read",
	StepGetMachine:         "machines.read",
	StepCreateMachine:      "machines.write",
	StepDeleteMachine:      "machines.admin",
	StepListInstances:      "instances.read",
	StepSetInstanceVersion: "instances.write",
	StepDeleteInstance:     "instances.admin",
	StepReadInstance:       "instances.admin",
}

// isAPIError reports whether err is an answer with status and, unless code
// is "", the API's code.
func isAPIError(err error, status int, code string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == status && (code == "" || e.Code == code)
}

// IsNotFound reports whether err is a 404 answer from the API.
func IsNotFound(err error) bool { return isAPIError(err, http.StatusNotFound, "") }

// checkResponse turns an answer outside 2xx into an *APIError, reading at
// most 64 KiB of the body. The body may be JSON (the API), XML (S3), or
// anything else a proxy sends.
func (c *Client) checkResponse(step Step, resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &APIError{Step: step, Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	decodeErrorBody(e, data, c.text)
	return e
}

// decodeErrorBody fills e's code, parameter and message from an error body,
// each made fit to print by show (Client.text: secrets hidden in the decoded
// text, then cleaned). Decoded, not raw: JSON and XML escapes could
// otherwise spell a secret that no match of the raw bytes finds.
func decodeErrorBody(e *APIError, data []byte, show func(string) string) {
	data = bytes.TrimSpace(data) // an empty body leaves every field empty
	var j struct {
		Error     string `json:"error"`
		Code      string `json:"code"`
		Parameter string `json:"parameter"`
	}
	if json.Unmarshal(data, &j) == nil {
		e.Code, e.Parameter, e.Message = show(j.Code), show(j.Parameter), show(j.Error)
		return
	}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	xmlBody := bytes.HasPrefix(data, []byte("<?xml")) || bytes.HasPrefix(data, []byte("<Error"))
	if xmlBody && xml.Unmarshal(data, &x) == nil && x.Code != "" {
		e.Code, e.Message = show(x.Code), show(x.Message)
		return
	}
	if bytes.HasPrefix(bytes.ToLower(data), []byte("<!doctype html")) || bytes.HasPrefix(bytes.ToLower(data), []byte("<html")) {
		e.Message = "the server answered with an HTML page, not the API's JSON"
		e.HTML = true
		return
	}
	e.Message = show(string(data))
}

// clean makes server text safe for a log line: every character that Folds
// is dropped or replaced. Format characters (bidirectional overrides and
// isolates, zero-width characters, which could make a line read as
// something else or hide a secret from the runner's mask) and line or
// paragraph separators are dropped; the rest, C0 and C1 controls (which
// could start a workflow command or a terminal escape), DEL and invalid
// bytes, become spaces. Nothing is cut: whoever prints the text redacts it
// first and shortens it after. Server text reaches clean only through
// Client.text, which hides the client's secrets first.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Cf, r), r == 0x2028, r == 0x2029:
			return -1
		case Folds(r):
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
