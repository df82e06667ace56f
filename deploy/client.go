// Package deploy is a client for the StateBacked API and the three-step flow
// that deploys code to it: provision, upload to the presigned URL, finalize.
package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultBaseURL is the production API.
const DefaultBaseURL = "https://api.statebacked.dev"

// maxResponseBytes bounds every response body read: answers are small JSON
// objects, and a misbehaving server must not exhaust memory.
const maxResponseBytes = 1 << 20

// The patterns below say "+" and check the length apart: a bounded repeat
// such as {1,512} compiles into a program that many times larger, at every
// start of the binary (measured: 1.4 MB and about 10 ms for all of them).

// slugPattern is the API's pattern for machine and instance names,
// ^[a-zA-Z0-9_-]{1,128}$, with the length checked by ValidSlug.
var slugPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// ValidSlug reports whether s is a valid machine or instance name.
func ValidSlug(s string) bool { return len(s) <= 128 && slugPattern.MatchString(s) }

// idPattern is what an ID from the server must look like before it is used
// in a path or written as an output: no spaces, newlines or other controls,
// and (checkID) at most 512 bytes.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._~:+/=-]+$`)

// Client talks to one StateBacked API with one token. Make it with New.
type Client struct {
	base      *url.URL
	token     string
	orgID     string
	userAgent string
	http      *http.Client

	attempts         int
	minWait, maxWait time.Duration
	requestTimeout   time.Duration
	onRetry          func(RetryEvent)
}

// Option configures a Client.
type Option func(*Client) error

// WithOrgID sends the x-statebacked-org-id header, needed when the token's
// user belongs to several organizations.
func WithOrgID(id string) Option {
	return func(c *Client) error {
		if strings.ContainsAny(id, " \t\r\n") {
			return errors.New("org ID must not contain spaces or newlines")
		}
		c.orgID = id
		return nil
	}
}

// WithHTTPClient replaces the HTTP client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("nil HTTP client")
		}
		c.http = hc
		return nil
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// New returns a client for the API at baseURL (see ParseBaseURL) that
// authenticates with token.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	base, err := ParseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, errors.New("empty token")
	}
	c := &Client{base: base, token: token, userAgent: "sbdeploy", http: newHTTPClient(),
		attempts: DefaultAttempts, minWait: defaultMinWait, maxWait: defaultMaxWait, requestTimeout: DefaultRequestTimeout}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// newHTTPClient follows no redirects: a redirect would either carry the token
// to another host or hide a misconfigured api-url, and the API never sends one.
func newHTTPClient() *http.Client {
	return &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ParseBaseURL checks an API or upload URL: absolute, https (plain http only
// for a loopback host, such as a local emulator), with no credentials, query
// or fragment. A trailing slash is removed.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", s)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return nil, fmt.Errorf("%q is not an absolute https URL (like %s)", s, DefaultBaseURL)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("%q uses plain http, which would send the token unencrypted: use https (plain http is allowed only for 127.0.0.1, ::1 or localhost)", s)
	case u.User != nil:
		return nil, fmt.Errorf("the URL must not contain credentials: pass the token with the token input instead")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%q must not have a query or fragment", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// do sends one API request, with in as its JSON body unless in is nil, and
// decodes a 2xx JSON answer into out unless out is nil. Any other answer
// becomes an *APIError. path is already escaped. Failed attempts are retried
// as retryable says.
func (c *Client) do(ctx context.Context, step Step, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	var err error
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		return err
	}
	u.RawQuery = query.Encode()
	_, err = retry(ctx, c, step, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.attempt(ctx, step, method, &u, body, out)
	})
	return err
}

// attempt sends a request once.
func (c *Client) attempt(ctx context.Context, step Step, method string, u *url.URL, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.orgID != "" {
		req.Header.Set("x-statebacked-org-id", c.orgID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &transportError{fmt.Errorf("%s failed: %s %s: %w", step, method, u.Redacted(), unwrapURLError(err))}
	}
	defer drain(resp.Body)
	if err := checkResponse(step, resp); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return decodeJSON(step, resp, out)
}

// unwrapURLError drops *url.Error's "Post "URL":" prefix; the caller names
// the request itself.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func decodeJSON(step Step, resp *http.Response, out any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return &transportError{fmt.Errorf("read %s response: %w", step, err)}
	}
	switch {
	case len(data) > maxResponseBytes:
		return fmt.Errorf("%s response is larger than %d bytes: is api-url pointing at the StateBacked API?", step, maxResponseBytes)
	case len(bytes.TrimSpace(data)) == 0:
		return fmt.Errorf("%s response (status %d) has an empty body, want JSON", step, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s response (status %d, %s) is not the expected JSON: %v",
			step, resp.StatusCode, contentType(resp), err)
	}
	return nil
}

func contentType(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no content type"
}

// drain reads a little of what is left so the connection can be reused.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

func checkID(step Step, name, id string) error {
	if len(id) > 512 || !idPattern.MatchString(id) {
		return fmt.Errorf("%s response has an invalid %s %q", step, name, truncate(id, 80))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
