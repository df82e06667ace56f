package github

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestNewRefuses checks that a client is made only for an API root and a
// repository that are what a runner sets, and a token.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ root, token, repo, want string }{
		{"ftp://api.example.com", "t", "o/r", "is not the address of a GitHub API"},
		{"https://user:pw@api.example.com", "t", "o/r", "is not the address of a GitHub API"},
		{"https://api.example.com?x=1", "t", "o/r", "is not the address of a GitHub API"},
		{"https://api.example.com", "t", "o", "is not a repository"},
		{"https://api.example.com", "t", "o/../x", "is not a repository"},
		{"https://api.example.com", "t", "o/r/x", "is not a repository"},
		{"https://api.example.com", "", "o/r", "no GitHub token"},
	} {
		if _, err := New(tt.root, tt.token, tt.repo); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%q, %q, %q) = %v, want %q", tt.root, tt.token, tt.repo, err, tt.want)
		}
	}
	if _, err := New("https://ghe.example.com/api/v3/", "t", "o/r.x"); err != nil {
		t.Errorf("a GitHub Enterprise Server root: %v", err)
	}
}

// TestTokenStaysWithRoot checks that a redirect is not followed: the token
// goes to the API root and nowhere else.
func TestTokenStaysWithRoot(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	c, err := New(api.URL, "secret-token", "o/r")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpsertComment(context.Background(), 1, "<!-- m -->", "<!-- m -->\nbody")
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusTemporaryRedirect {
		t.Errorf("err = %v, want the redirect as an error", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("%d requests reached the redirect's target", n)
	}
}
