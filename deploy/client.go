// Package deploy is a client for the StateBacked API: the three-step flow
// that deploys code (provision, upload to the presigned URL, finalize), and
// the calls that create, list, move and delete machines and instances.
//
// It speaks the API's terms only. Its errors are facts (the step, the status,
// the API's code, parameter and missing scope); what a person should change
// in response is for the caller to say, in the caller's own terms.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultBaseURL is the production API.
const DefaultBaseURL = "https://api.statebacked.dev"

// The patterns below say "+" and check the length apart: a bounded repeat
// such as {1,512} compiles into a program that many times larger, at every
// start of the binary.

// slugPattern is the API's pattern for machine and instance names,
// ^[a-zA-Z0-9_-]{1,128}$, with the length checked by ValidSlug.
var slugPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// ValidSlug reports whether s is a valid machine or instance name.
func ValidSlug(s string) bool { return len(s) <= 128 && slugPattern.MatchString(s) }

// idPattern is what a version or migration ID must look like before it is
// put in a path, returned, printed or written as an output: one path
// segment of characters that need no escaping there, so no slash, percent
// sign, space, newline or other control (the emulator's IDs are mvm_<hex>,
// signed ones mvm_<hex>.<hex>). validID checks the rest: at most 512 bytes,
// and not the path segments . and .., which would name another path.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._~:+=-]+$`)

// idRule says what validID accepts, for the errors that refuse an ID.
const idRule = "an ID is 1 to 512 of A-Z a-z 0-9 . _ ~ : + = -, and not . or .."

// validID reports whether id may be used in a path and shown.
func validID(id string) bool {
	return len(id) <= 512 && id != "." && id != ".." && idPattern.MatchString(id)
}

// Client talks to one StateBacked API with one token. Make it with New.
type Client struct {
	base      *url.URL
	token     string
	orgID     string
	userAgent string
	http      *http.Client

	attempts       int
	requestTimeout time.Duration
	sleep          func(context.Context, time.Duration) error
	onRetry        func(RetryEvent)
	onSecret       func(string)
	// secrets are the token and what provision answers carry that grants
	// access: hidden in server text before it is cleaned (see text).
	secrets secretSet
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

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithSecretNotify calls notify with every secret the client learns from
// the server before it could appear in an error or a callback: the presigned
// upload's policy, signature and credentials. A caller that prints anything
// hides these as it hides the token.
func WithSecretNotify(notify func(secret string)) Option {
	return func(c *Client) error {
		c.onSecret = notify
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
	// The client follows no redirects: a redirect would either carry the
	// token to another host or hide a misconfigured base URL, and the API
	// never sends one. Its transport is its own (see transport), so that
	// Preconnect can hand its connection to the first request.
	hc := &http.Client{
		Transport:     newTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := &Client{base: base, token: token, userAgent: "sbdeploy", http: hc,
		attempts: DefaultAttempts, requestTimeout: DefaultRequestTimeout, sleep: sleep}
	c.secrets.add(token)
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ParseBaseURL checks an API or upload URL: absolute, https (plain http only
// for a loopback host, such as a local emulator), with no credentials, query
// or fragment. A trailing slash is removed. Its errors never repeat
// credentials.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("it is not a URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return nil, fmt.Errorf("%q is not an absolute https URL (like %s)", Printable(u), DefaultBaseURL)
	case u.User != nil:
		return nil, errors.New("the URL must not contain credentials (user:password@)")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("%q uses plain http, which would send the token unencrypted: use https (plain http is allowed only for 127.0.0.1, ::1 or localhost)", Printable(u))
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("%q must not have a query or fragment", Printable(u))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Printable is u as it may be shown: scheme, host and path, without
// credentials, query or fragment, which can carry signatures.
func Printable(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool { return host == "localhost" || net.ParseIP(host).IsLoopback() }

// localAPI reports whether the API is on this machine (tests, a local
// emulator): only then may uploads go to this machine or its network.
func (c *Client) localAPI() bool { return isLoopback(c.base.Hostname()) }

// internalHost says what a URL's host is when it is internal: "localhost"
// (also for a name below it), or what internalAddr says of an IP literal;
// "" for any other name or address.
func internalHost(host string) string {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return "localhost"
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return internalAddr(a)
	}
	return ""
}

var (
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")
	sharedNAT    = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT; some clouds' metadata services
	broadcastAll = netip.MustParseAddr("255.255.255.255")
)

// internalAddr says what kind of address a is ("a private address") when
// an upload must not go there, "" when it may: loopback, private (10/8,
// 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, where cloud
// metadata services answer, and fe80::/10), unspecified, this network
// (0/8), multicast, broadcast, or shared (100.64/10). An IPv4 address
// written as IPv6 is judged as IPv4.
func internalAddr(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "a link-local address"
	case a.IsUnspecified(), thisNetwork.Contains(a):
		return "an unspecified address"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast(), a == broadcastAll:
		return "a multicast or broadcast address"
	case sharedNAT.Contains(a):
		return "a shared (carrier-grade NAT) address"
	}
	return ""
}

// machinePath is the API path of machine followed by rest, once machine is
// known to be a valid name: every request that names a machine goes through
// it, so none can put another path into a URL.
func machinePath(machine string, rest ...string) (string, error) {
	if !ValidSlug(machine) {
		return "", fmt.Errorf("invalid machine name %q", machine)
	}
	return "/machines/" + machine + strings.Join(rest, ""), nil
}

// checkServerID checks an ID from the server's answer at step before it is
// used: every ID the client returns or puts in a path comes through here.
// Its error quotes the ID whole, with the client's secrets hidden and
// controls cleaned (see text): whoever prints it redacts its own secrets
// first and shortens after, so a cut can never leave part of a secret
// behind.
func (c *Client) checkServerID(step Step, name, id string) error {
	if !validID(id) {
		return fmt.Errorf("%s response refused: invalid %s %q: %s", step, name, c.text(id), idRule)
	}
	return nil
}
