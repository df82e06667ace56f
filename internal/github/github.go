// Package github is the small part of GitHub's REST API that sbdeploy uses:
// a pull request's comments, and deployments with their statuses. It talks
// to one API root (GITHUB_API_URL, so GitHub Enterprise Server works too)
// and sends its token nowhere else.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of what the client reads and sends.
const (
	// MaxComment is the most characters GitHub keeps in a comment's body.
	MaxComment = 65_536
	// maxPages bounds the pages of comments or deployments listed, 100 per
	// page: a pull request with more comments gets a new one.
	maxPages = 30
	// maxAnswer bounds an answer's body.
	maxAnswer = 8 << 20
	// timeout bounds each request.
	timeout = 30 * time.Second
)

// Client calls the GitHub API at one root with one token.
type Client struct {
	root  *url.URL
	token string
	repo  string // owner/name
	http  *http.Client
}

// New returns a client of the API at root (http or https, with no user,
// query or fragment) for the repository repo (owner/name).
func New(root, token, repo string) (*Client, error) {
	u, err := url.Parse(root)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q is not the address of a GitHub API (https://api.github.com, or a server's https://host/api/v3)", root)
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || !validName(owner) || !validName(name) {
		return nil, fmt.Errorf("%q is not a repository (owner/name)", repo)
	}
	if token == "" {
		return nil, errors.New("no GitHub token")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	// A redirect is not followed: the token goes to root and nowhere else.
	hc := &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Client{root: u, token: token, repo: repo, http: hc}, nil
}

// validName is a GitHub owner or repository name: letters, digits, - _ and .
func validName(s string) bool {
	return s != "" && s != "." && s != ".." && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == ""
}

// Error is an answer other than success.
type Error struct {
	Method, Path string
	Status       int
	Message      string // GitHub's message, cut to a line
}

func (e *Error) Error() string {
	msg := ""
	if e.Message != "" {
		msg = ": " + e.Message
	}
	return fmt.Sprintf("GitHub API %s %s: %d %s%s", e.Method, e.Path, e.Status, http.StatusText(e.Status), msg)
}

// Forbidden reports whether err is GitHub refusing the token this request
// (403): a read-only token, as pull requests from forks get, or a workflow
// that did not grant the permission.
func Forbidden(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusForbidden
}

// do sends a request with body as JSON (none if nil) to path under the
// repository, and decodes the answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := *c.root
	u.Path += "/repos/" + c.repo + path
	u.RawQuery = query.Encode()
	return c.send(ctx, method, u, path, body, out)
}

// send sends a request to u; path names it in errors.
func (c *Client) send(ctx context.Context, method string, u url.URL, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "sbdeploy")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is known; the error alone is the news
		}
		return fmt.Errorf("GitHub API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err == nil && len(data) > maxAnswer {
		err = fmt.Errorf("an answer over %d bytes", maxAnswer)
	}
	if err != nil {
		return fmt.Errorf("GitHub API %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct{ Message string }
		_ = json.Unmarshal(data, &e)
		// The token is hidden before the message is cut: a part of it would
		// no longer be recognised.
		msg, _, _ := strings.Cut(strings.ReplaceAll(e.Message, c.token, "***"), "\n")
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Message: cut(msg, 200)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("GitHub API %s %s: the answer is not what GitHub sends: %w", method, path, err)
	}
	return nil
}

// cut shortens s to at most n bytes, at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// comment is a comment as GitHub lists it.
type comment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	User struct {
		Login string `json:"login"`
	} `json:"user"`
}

// workflowBot is the login of the workflow's own token (github.token),
// which GET /user does not answer for.
const workflowBot = "github-actions[bot]"

// login is who the token speaks for: a person's or a bot's login from
// GET /user, or, for the workflow's token, which may not ask, its bot.
func (c *Client) login(ctx context.Context) (string, error) {
	var me struct {
		Login string `json:"login"`
	}
	u := *c.root
	u.Path += "/user"
	err := c.send(ctx, http.MethodGet, u, "/user", nil, &me)
	if Forbidden(err) || (err == nil && me.Login == "") {
		return workflowBot, nil
	}
	return me.Login, err
}

// UpsertComment makes body the comment on pull request (or issue) number
// that the token's own user wrote and that starts with marker: it edits the
// first such comment and deletes any later one (two runs at once may each
// have made one), or creates it. A comment anyone else wrote is never
// taken, whatever it starts with. It reports whether it created it.
func (c *Client) UpsertComment(ctx context.Context, number int, marker, body string) (created bool, err error) {
	if !strings.HasPrefix(body, marker) {
		return false, errors.New("the comment must start with its marker")
	}
	if len([]rune(body)) > MaxComment {
		return false, fmt.Errorf("the comment has over %d characters", MaxComment)
	}
	me, err := c.login(ctx)
	if err != nil {
		return false, err
	}
	n := strconv.Itoa(number)
	var ours []int64
	for page := 1; page <= maxPages; page++ {
		var list []comment
		q := url.Values{"per_page": {"100"}, "page": {strconv.Itoa(page)}}
		if err := c.do(ctx, http.MethodGet, "/issues/"+n+"/comments", q, nil, &list); err != nil {
			return false, err
		}
		for _, cm := range list {
			if cm.User.Login == me && strings.HasPrefix(cm.Body, marker) {
				ours = append(ours, cm.ID)
			}
		}
		if len(list) < 100 {
			break
		}
	}
	if len(ours) == 0 {
		return true, c.do(ctx, http.MethodPost, "/issues/"+n+"/comments", nil, map[string]string{"body": body}, nil)
	}
	if err := c.do(ctx, http.MethodPatch, "/issues/comments/"+strconv.FormatInt(ours[0], 10), nil, map[string]string{"body": body}, nil); err != nil {
		return false, err
	}
	for _, id := range ours[1:] {
		if err := c.do(ctx, http.MethodDelete, "/issues/comments/"+strconv.FormatInt(id, 10), nil, nil, nil); err != nil {
			return false, err
		}
	}
	return false, nil
}

// Deployment is a deployment to create.
type Deployment struct {
	Ref         string         `json:"ref"` // the commit deployed
	Environment string         `json:"environment"`
	Description string         `json:"description,omitempty"`
	Payload     map[string]any `json:"payload,omitempty"`
	// Transient marks an environment that goes away, as a pull request's
	// preview does.
	Transient bool `json:"transient_environment"`
	// AutoMerge and RequiredContexts are off and empty: the deploy has
	// happened, whatever the branch's checks say.
	AutoMerge        bool     `json:"auto_merge"`
	RequiredContexts []string `json:"required_contexts"`
}

// CreateDeployment creates d and returns its ID.
func (c *Client) CreateDeployment(ctx context.Context, d Deployment) (int64, error) {
	d.AutoMerge, d.RequiredContexts = false, []string{}
	var out struct {
		ID int64 `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/deployments", nil, d, &out); err != nil {
		return 0, err
	}
	if out.ID <= 0 {
		return 0, errors.New("GitHub API POST /deployments: the answer has no deployment ID")
	}
	return out.ID, nil
}

// Status is a deployment's status.
type Status struct {
	State       string `json:"state"` // in_progress, success, failure or inactive
	Description string `json:"description,omitempty"`
	LogURL      string `json:"log_url,omitempty"`
	Environment string `json:"environment,omitempty"`
}

// maxDescription is the most characters GitHub takes in a status's
// description.
const maxDescription = 140

// SetStatus adds s to deployment id.
func (c *Client) SetStatus(ctx context.Context, id int64, s Status) error {
	if len([]rune(s.Description)) > maxDescription {
		s.Description = string([]rune(s.Description)[:maxDescription-1]) + "…"
	}
	return c.do(ctx, http.MethodPost, "/deployments/"+strconv.FormatInt(id, 10)+"/statuses", nil, s, nil)
}

// Deactivate marks every deployment to environment inactive, and returns
// how many it marked.
func (c *Client) Deactivate(ctx context.Context, environment string) (int, error) {
	marked := 0
	for page := 1; page <= maxPages; page++ {
		var list []struct {
			ID int64 `json:"id"`
		}
		q := url.Values{"environment": {environment}, "per_page": {"100"}, "page": {strconv.Itoa(page)}}
		if err := c.do(ctx, http.MethodGet, "/deployments", q, nil, &list); err != nil {
			return marked, err
		}
		for _, d := range list {
			if err := c.SetStatus(ctx, d.ID, Status{State: "inactive", Description: "the machine was deleted"}); err != nil {
				return marked, err
			}
			marked++
		}
		if len(list) < 100 {
			break
		}
	}
	return marked, nil
}
