package github

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"sbdeploy/internal/testkit"
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

// TestUpsertCommentTakesOnlyItsOwn checks that the comment edited is one
// the token's user wrote: a comment by anyone else that starts with the
// marker is left alone, and a second comment of its own (two runs at once)
// is deleted. It checks it for the workflow's token, which GET /user
// refuses, and for a person's.
func TestUpsertCommentTakesOnlyItsOwn(t *testing.T) {
	t.Parallel()
	const marker = "<!-- sbdeploy migration toggle -->"
	for _, login := range []string{"", "alice"} {
		api := testkit.NewGitHubAPI(t, "tok", "o/r")
		api.Login = login
		me := cmp.Or(login, "github-actions[bot]")
		api.AddComment(7, "mallory", marker+"\nmallory's")
		api.AddComment(7, me, marker+"\nrun 1")
		api.AddComment(7, me, marker+"\nrun 2, at the same time")
		c, err := New(api.URL, "tok", "o/r")
		if err != nil {
			t.Fatal(err)
		}
		created, err := c.UpsertComment(context.Background(), 7, marker, marker+"\nrun 3")
		if err != nil || created {
			t.Fatalf("%s: created %v, err %v", me, created, err)
		}
		var got []string
		for _, cm := range api.Comments(7) {
			got = append(got, cm.User+": "+cm.Body)
		}
		if want := []string{"mallory: " + marker + "\nmallory's", me + ": " + marker + "\nrun 3"}; !slices.Equal(got, want) {
			t.Errorf("%s: comments %q, want %q", me, got, want)
		}
		if p := api.Problems(); len(p) > 0 {
			t.Errorf("%s: %q", me, p)
		}
	}
}

// TestTokenNotInMessage checks that an answer that echoes the token shows
// no part of it, even where the message is cut.
func TestTokenNotInMessage(t *testing.T) {
	t.Parallel()
	const token = "ghs_0123456789abcdefghijklmnopqrstuvwxyz"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"message":"%s header Authorization: Bearer %s"}`, strings.Repeat("x", 155), token)
	}))
	defer api.Close()
	c, err := New(api.URL, token, "o/r")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateDeployment(context.Background(), Deployment{Ref: "main", Environment: "e"})
	if err == nil || strings.Contains(err.Error(), token[:8]) {
		t.Errorf("err = %v, want one without the token", err)
	}
}
