package testkit

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// GitHubAPI is the part of GitHub's REST API that sbdeploy calls, for
// tests, on 127.0.0.1: pull request comments, and deployments with their
// statuses. It checks every request's method, path, headers and body, and
// records what it found wrong in Problems.
type GitHubAPI struct {
	URL   string
	Token string // the token every request must carry
	Repo  string // owner/name
	// Refuse, when set, answers every write with this status, as GitHub
	// answers a fork's read-only token with 403.
	Refuse int
	// Secret must appear in no request: the other service's credentials.
	Secret string
	// Login is the token's user, which GET /user answers; "" is the
	// workflow's token, which GET /user refuses, and whose comments are
	// github-actions[bot]'s.
	Login string

	mu          sync.Mutex
	comments    map[int][]GitHubComment // by pull request
	deployments []GitHubDeployment
	requests    []string // "METHOD path"
	problems    []string
	nextID      int64
}

// GitHubComment is a comment the API holds.
type GitHubComment struct {
	ID   int64
	User string // its author's login
	Body string
}

// GitHubDeployment is a deployment the API holds, with its statuses.
type GitHubDeployment struct {
	ID       int64
	Request  map[string]any   // as created
	Statuses []map[string]any // in order
}

// NewGitHubAPI starts a GitHubAPI for repo that takes token.
func NewGitHubAPI(tb testing.TB, token, repo string) *GitHubAPI {
	g := &GitHubAPI{Token: token, Repo: repo, comments: map[int][]GitHubComment{}, nextID: 1000}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	tb.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

var (
	reposPath    = regexp.MustCompile(`^/repos/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(/.*)$`)
	commentsPath = regexp.MustCompile(`^/issues/([0-9]+)/comments$`)
	commentPath  = regexp.MustCompile(`^/issues/comments/([0-9]+)$`)
	statusesPath = regexp.MustCompile(`^/deployments/([0-9]+)/statuses$`)
)

func (g *GitHubAPI) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	g.requests = append(g.requests, r.Method+" "+r.URL.Path)
	bad := func(format string, args ...any) {
		g.problems = append(g.problems, fmt.Sprintf("%s %s: ", r.Method, r.URL.Path)+fmt.Sprintf(format, args...))
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+g.Token {
		bad("Authorization is not the token")
	}
	if r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("X-GitHub-Api-Version") == "" {
		bad("Accept %q, X-GitHub-Api-Version %q", r.Header.Get("Accept"), r.Header.Get("X-GitHub-Api-Version"))
	}
	if g.Secret != "" {
		for k, vs := range r.Header {
			if strings.Contains(strings.Join(vs, " "), g.Secret) {
				bad("header %s holds the other service's secret", k)
			}
		}
		if strings.Contains(string(body)+r.URL.RawQuery, g.Secret) {
			bad("the body or query holds the other service's secret")
		}
	}
	if r.URL.Path == "/user" && r.Method == http.MethodGet {
		if g.Login == "" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"Resource not accessible by integration"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"login":%q}`, g.Login)
		return
	}
	m := reposPath.FindStringSubmatch(r.URL.Path)
	if m == nil || m[1] != g.Repo {
		bad("not under /repos/%s", g.Repo)
		http.NotFound(w, r)
		return
	}
	path := m[2]
	var in map[string]any
	if r.Method != http.MethodGet && r.Method != http.MethodDelete {
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &in) != nil {
			bad("the body is not JSON: %q", body)
		}
		if g.Refuse != 0 {
			w.WriteHeader(g.Refuse)
			fmt.Fprint(w, `{"message":"Resource not accessible by integration"}`)
			return
		}
	}
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch m := commentsPath.FindStringSubmatch(path); {
	case m != nil && r.Method == http.MethodGet:
		n, _ := strconv.Atoi(m[1])
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		list := []map[string]any{}
		for i, c := range g.comments[n] {
			if i/100 == page-1 {
				list = append(list, map[string]any{"id": c.ID, "body": c.Body, "user": map[string]any{"login": c.User}})
			}
		}
		reply(http.StatusOK, list)
	case m != nil && r.Method == http.MethodPost:
		n, _ := strconv.Atoi(m[1])
		b := g.body(in, bad)
		g.comments[n] = append(g.comments[n], GitHubComment{ID: g.newID(), User: g.user(), Body: b})
		reply(http.StatusCreated, map[string]any{"id": g.nextID})
	case commentPath.MatchString(path) && (r.Method == http.MethodPatch || r.Method == http.MethodDelete):
		id, _ := strconv.ParseInt(commentPath.FindStringSubmatch(path)[1], 10, 64)
		for n, list := range g.comments {
			i := slices.IndexFunc(list, func(c GitHubComment) bool { return c.ID == id })
			switch {
			case i < 0:
				continue
			case list[i].User != g.user(): // the repository's settings decide; tests refuse
				reply(http.StatusForbidden, map[string]any{"message": "not the author"})
			case r.Method == http.MethodDelete:
				g.comments[n] = slices.Delete(list, i, i+1)
				w.WriteHeader(http.StatusNoContent)
			default:
				g.comments[n][i].Body = g.body(in, bad)
				reply(http.StatusOK, map[string]any{"id": id})
			}
			return
		}
		reply(http.StatusNotFound, map[string]any{"message": "Not Found"})
	case path == "/deployments" && r.Method == http.MethodPost:
		g.deployments = append(g.deployments, GitHubDeployment{ID: g.newID(), Request: in})
		reply(http.StatusCreated, map[string]any{"id": g.nextID})
	case path == "/deployments" && r.Method == http.MethodGet:
		list := []map[string]any{}
		for _, d := range g.deployments {
			if d.Request["environment"] == r.URL.Query().Get("environment") {
				list = append(list, map[string]any{"id": d.ID})
			}
		}
		reply(http.StatusOK, list)
	case statusesPath.MatchString(path) && r.Method == http.MethodPost:
		id, _ := strconv.ParseInt(statusesPath.FindStringSubmatch(path)[1], 10, 64)
		for i := range g.deployments {
			if g.deployments[i].ID == id {
				g.deployments[i].Statuses = append(g.deployments[i].Statuses, in)
				reply(http.StatusCreated, map[string]any{"id": 1})
				return
			}
		}
		reply(http.StatusNotFound, map[string]any{"message": "Not Found"})
	default:
		bad("no such endpoint")
		http.NotFound(w, r)
	}
}

func (g *GitHubAPI) newID() int64 {
	g.nextID++
	return g.nextID
}

// user is the login of the token's comments.
func (g *GitHubAPI) user() string {
	if g.Login == "" {
		return "github-actions[bot]"
	}
	return g.Login
}

// AddComment adds a comment by login to pull request n, as another user
// or an earlier run would have written it.
func (g *GitHubAPI) AddComment(n int, login, body string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.comments[n] = append(g.comments[n], GitHubComment{ID: g.newID(), User: login, Body: body})
}

// body is a comment's body, checked against GitHub's limit.
func (g *GitHubAPI) body(in map[string]any, bad func(string, ...any)) string {
	b, _ := in["body"].(string)
	if n := utf8.RuneCountInString(b); n == 0 || n > 65_536 {
		bad("a comment of %d characters", n)
	}
	return b
}

// Comments are the comments on pull request n.
func (g *GitHubAPI) Comments(n int) []GitHubComment {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GitHubComment(nil), g.comments[n]...)
}

// Deployments are the deployments created, with their statuses.
func (g *GitHubAPI) Deployments() []GitHubDeployment {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GitHubDeployment(nil), g.deployments...)
}

// Requests are the requests received, as "METHOD path".
func (g *GitHubAPI) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

// Problems are what requests did wrong.
func (g *GitHubAPI) Problems() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.problems...)
}
