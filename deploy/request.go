package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"reflect"
	"strings"
)

// maxResponseBytes bounds every response body read: answers are small JSON
// objects (a page of a listing at most), and a misbehaving server must not
// exhaust memory.
const maxResponseBytes = 1 << 20

// request is one request the client makes, complete, so that each attempt
// sends it again as it is. API requests carry the token and the org header;
// uploads go to another host and carry neither.
type request struct {
	step        Step
	method      string
	url         *url.URL
	body        []byte // nil: no body
	contentType string
	api         bool
}

// call sends one API request, with in as its JSON body unless in is nil,
// retrying as the retry policy says, and decodes a 2xx JSON answer into out
// unless out is nil. path is already escaped and relative to the base URL.
func (c *Client) call(ctx context.Context, step Step, method, path string, query url.Values, in, out any) error {
	r, err := c.newRequest(step, method, path, query, in)
	if err != nil {
		return err
	}
	return c.retry(ctx, step, func(ctx context.Context) error { return c.attempt(ctx, r, out) })
}

// newRequest is the request call sends: to path (escaped) below the API's
// URL, with in as its JSON body unless in is nil.
func (c *Client) newRequest(step Step, method, path string, query url.Values, in any) (request, error) {
	r := request{step: step, method: method, api: true}
	var err error
	if in != nil {
		if r.body, err = json.Marshal(in); err != nil {
			return request{}, err
		}
		r.contentType = "application/json"
	}
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		return request{}, err
	}
	u.RawQuery = query.Encode()
	r.url = &u
	return r, nil
}

// attempt sends r once.
func (c *Client) attempt(ctx context.Context, r request, out any) error {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	// wrote reports whether the request left: only then can an attempt
	// without an answer have taken effect.
	var wrote bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { wrote = true }})
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		return err
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("User-Agent", c.userAgent)
	if r.api {
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Accept", "application/json")
		if c.orgID != "" {
			req.Header.Set("x-statebacked-org-id", c.orgID)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error's "Post "URL":" prefix would print the URL whole.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return &transportError{sent: wrote, err: fmt.Errorf("%s failed: %s %s: %w", r.step, r.method, Printable(r.url), err)}
	}
	defer drain(resp.Body)
	if err := c.checkResponse(r.step, resp); err != nil {
		return err
	}
	if out == nil && !r.api {
		return nil
	}
	return c.decodeJSON(r.step, resp, out)
}

// BadResponseError is a 2xx answer that cannot be used: not the JSON object
// expected, too large, or one that says it failed. It is never retried: the
// request may have taken effect.
type BadResponseError struct {
	Step        Step
	Status      int
	ContentType string
	Problem     string
}

func (e *BadResponseError) Error() string {
	return fmt.Sprintf("%s response (status %d, %s) %s", e.Step, e.Status, e.ContentType, e.Problem)
}

// decodeJSON reads a 2xx answer into out, a pointer to a struct, or, when
// out is nil, checks only that an answer with a body does not say it failed.
// It is strict where a lenient decoder would report success that did not
// happen: an answer with an "error" member, and a member whose name matches
// one of out's only in another case, are refused. Secrets in the answer (an
// upload's policy and signature) are reported before anything could print
// them.
func (c *Client) decodeJSON(step Step, resp *http.Response, out any) error {
	bad := func(format string, args ...any) error {
		ct := resp.Header.Get("Content-Type")
		if ct == "" {
			ct = "no content type"
		}
		return &BadResponseError{Step: step, Status: resp.StatusCode, ContentType: ct, Problem: fmt.Sprintf(format, args...)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	switch {
	case err != nil:
		return &transportError{sent: true, err: fmt.Errorf("read %s response: %w", step, err)}
	case len(data) > maxResponseBytes:
		return bad("is larger than %d bytes", maxResponseBytes)
	case len(bytes.TrimSpace(data)) == 0 && out == nil:
		return nil
	case len(bytes.TrimSpace(data)) == 0:
		return bad("has an empty body, want JSON")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		if out == nil {
			return nil // not JSON: nothing says it failed
		}
		return bad("is not the expected JSON (an object): %v", err)
	}
	c.learnSecrets(members)
	if msg, ok := members["error"]; ok {
		var text string
		if json.Unmarshal(msg, &text) != nil {
			text = string(msg)
		}
		return bad("carries an error: %s", c.text(text))
	}
	if out == nil {
		return nil
	}
	if name, want, ok := caseMismatch(members, out); ok {
		return bad("has %q where %q was expected", c.text(name), want)
	}
	if err := json.Unmarshal(data, out); err != nil {
		if f := (*notStringError)(nil); errors.As(err, &f) {
			return bad("refused: codeUploadFields[%q] is not a string", c.text(f.name))
		}
		return bad("is not the expected JSON: %v", err)
	}
	return nil
}

// learnSecrets keeps the secrets of a provision answer, to hide them in
// server text, and reports them to onSecret: the fields of its presigned
// POST that grant access, and the credentials and query of its upload URL.
// It runs before the answer is checked, so that an answer refused for
// another reason cannot print them.
func (c *Client) learnSecrets(members map[string]json.RawMessage) {
	learn := func(v string) {
		c.secrets.add(v)
		if c.onSecret != nil {
			c.onSecret(v)
		}
	}
	var fields Fields
	if raw, ok := members["codeUploadFields"]; ok && json.Unmarshal(raw, &fields) == nil {
		for _, f := range fields {
			if isSecretField(f.Name) {
				learn(f.Value)
			}
		}
	}
	var raw string
	if json.Unmarshal(members["codeUploadUrl"], &raw) != nil {
		return
	}
	if u, err := url.Parse(raw); err == nil {
		for _, vs := range u.Query() {
			for _, v := range vs {
				learn(v)
			}
		}
		if pw, ok := u.User.Password(); ok {
			learn(pw)
		}
	}
}

// caseMismatch finds a member of the answer whose name equals a JSON field
// name of out's struct, which embeds none, only when case is ignored
// (encoding/json would take it). Such an answer is another shape than the
// API's.
func caseMismatch(members map[string]json.RawMessage, out any) (got, want string, found bool) {
	for f := range reflect.TypeOf(out).Elem().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		for member := range members {
			if name != "" && name != "-" && member != name && strings.EqualFold(member, name) {
				return member, name, true
			}
		}
	}
	return "", "", false
}

// drain reads a little of what is left so the connection can be reused.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}
