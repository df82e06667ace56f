package action

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
	"sbdeploy/internal/worker"
	"sbdeploy/validate"
)

const (
	ghToken = "ghs_testtoken0123456789abcdef"
	ghRepo  = "octo/app"
)

// onPullRequest makes h's runs those of a pull_request event for pull
// request n, told to GitHub at api.
func (h *harness) onPullRequest(t *testing.T, api *testkit.GitHubAPI, n int) {
	t.Helper()
	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, fmt.Appendf(nil, `{"number":%d,"pull_request":{"number":%d}}`, n, n), 0o644); err != nil {
		t.Fatal(err)
	}
	h.env["GITHUB_EVENT_NAME"], h.env["GITHUB_EVENT_PATH"] = "pull_request", event
	h.onGitHub(api)
}

// onGitHub points h's runs at the GitHub API api, as a runner does.
func (h *harness) onGitHub(api *testkit.GitHubAPI) {
	h.env["GITHUB_API_URL"], h.env["GITHUB_REPOSITORY"], h.env["GITHUB_SHA"] = api.URL, ghRepo, "0123456789abcdef0123456789abcdef01234567"
	h.env["INPUT_GITHUB-TOKEN"] = ghToken
}

// TestPullRequestComment runs a dry run with the migration check on a pull
// request twice: the first run creates the comment, the second edits it,
// and there is never a second comment. The comment says what ran and what
// the check found, and holds neither token.
func TestPullRequestComment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.installXstate(t)
	api := testkit.NewGitHubAPI(t, ghToken, ghRepo)
	api.Secret = testToken
	h.onPullRequest(t, api, 7)
	for run := 1; run <= 2; run++ {
		stdout, stderr, err := h.run(t, checkArgs("--dry-run", "--comment-on-pr")...)
		if err != nil {
			t.Fatalf("run %d: %v\n%s%s", run, err, stdout, stderr)
		}
		if want := []string{"commented on", "updated the comment on"}[run-1]; !strings.Contains(stdout, want+" pull request #7") {
			t.Errorf("run %d: the log does not say %q:\n%s", run, want, stdout)
		}
		if strings.Contains(strings.ReplaceAll(stdout+stderr, "::add-mask::"+ghToken+"\n", ""), ghToken) {
			t.Errorf("run %d: the GitHub token is in the log", run)
		}
	}
	if p := api.Problems(); len(p) > 0 {
		t.Errorf("requests GitHub would refuse:\n%s", strings.Join(p, "\n"))
	}
	want := []string{"GET /user", "GET /repos/octo/app/issues/7/comments", "POST /repos/octo/app/issues/7/comments",
		"GET /user", "GET /repos/octo/app/issues/7/comments", "PATCH /repos/octo/app/issues/comments/1001"}
	if got := api.Requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	comments := api.Comments(7)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want 1", len(comments))
	}
	body := comments[0].Body
	hasAll(t, "the comment", body,
		"<!-- sbdeploy migration toggle -->\n",
		"### StateBacked: Dry run",
		"| Machine | `toggle` |",
		"| Commit | `0123456789abcdef0123456789abcdef01234567` |",
		"#### Where instances go (`app/machines/toggle-v1.ts` to `app/machines/toggle.ts`)",
		"| `off` | `disabled` |",
		"```mermaid\nstateDiagram-v2\n",
		"class s0 added", // disabled, the new machine's first state
		"class s2 removed",
	)
	if strings.Contains(body, testToken) || strings.Contains(body, ghToken) {
		t.Error("the comment holds a token")
	}
}

// TestPullRequestCommentRefused checks that a token that may not comment (a
// fork's, read-only) makes a warning that says why, and the step passes.
func TestPullRequestCommentRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := testkit.NewGitHubAPI(t, ghToken, ghRepo)
	api.Refuse = 403
	h.onPullRequest(t, api, 3)
	stdout, stderr, err := h.run(t, "--dry-run", "--comment-on-pr")
	if err != nil {
		t.Fatalf("want the step to pass: %v\n%s%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "::warning::could not comment on pull request #3: GitHub API POST /issues/3/comments: 403 Forbidden") ||
		!strings.Contains(stdout, "grant `permissions: pull-requests: write`") || !strings.Contains(stdout, "fork") {
		t.Errorf("no warning that says why:\n%s", stdout)
	}
}

// TestCommentNotOnPullRequest checks that comment-on-pr on a push warns and
// sends GitHub nothing.
func TestCommentNotOnPullRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := testkit.NewGitHubAPI(t, ghToken, ghRepo)
	h.onGitHub(api)
	h.env["GITHUB_EVENT_NAME"] = "push"
	stdout, stderr, err := h.run(t, "--dry-run", "--comment-on-pr")
	if err != nil || !strings.Contains(stdout, "::warning::input comment-on-pr: the event is push, not a pull request") {
		t.Errorf("err %v, want a warning:\n%s%s", err, stdout, stderr)
	}
	if r := api.Requests(); len(r) != 0 {
		t.Errorf("requests to GitHub: %q", r)
	}
}

// TestGitHubInputs checks what is refused before anything runs: no token,
// no repository, an API address that is not one, an unreadable event.
func TestGitHubInputs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no token", map[string]string{"INPUT_GITHUB-TOKEN": ""}, "input github-token: required with input comment-on-pr"},
		{"no repository", map[string]string{"GITHUB_REPOSITORY": ""}, `"" is not a repository (owner/name)`},
		{"not an API", map[string]string{"GITHUB_API_URL": "ftp://example.com"}, `"ftp://example.com" is not the address of a GitHub API`},
		{"no event file", map[string]string{"GITHUB_EVENT_PATH": "/nonexistent/event.json"}, "the event file (GITHUB_EVENT_PATH)"},
		{"event file a FIFO", map[string]string{"GITHUB_EVENT_PATH": "fifo"}, "is not a regular file"},
		{"event file a device", map[string]string{"GITHUB_EVENT_PATH": "/dev/zero"}, "is not a regular file"},
		{"environment without github-deployment", map[string]string{"INPUT_ENVIRONMENT": "production"}, "input environment: only with github-deployment: true"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			api := testkit.NewGitHubAPI(t, ghToken, ghRepo)
			h.onPullRequest(t, api, 1)
			for k, v := range tt.env {
				h.env[k] = v
			}
			if h.env["GITHUB_EVENT_PATH"] == "fifo" { // no writer: an open that waits would never return
				fifo := filepath.Join(t.TempDir(), "fifo")
				if err := syscall.Mkfifo(fifo, 0o600); err != nil {
					t.Fatal(err)
				}
				h.env["GITHUB_EVENT_PATH"] = fifo
			}
			_, _, err := h.run(t, "--dry-run", "--comment-on-pr")
			if ExitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("exit code %d: %v, want 2 and %q", ExitCode(err), err, tt.want)
			}
			if r := api.Requests(); len(r) != 0 || len(h.em.Requests()) != 0 {
				t.Errorf("requests: GitHub %q, StateBacked %d", r, len(h.em.Requests()))
			}
		})
	}
}

// TestGitHubDeployment deploys with github-deployment: the deployment is
// created in progress, with the bundle's SHA-256 in its payload, and ends
// in success naming the migration; a failed deploy ends in failure; a
// teardown marks the environment's deployments inactive.
func TestGitHubDeployment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := testkit.NewGitHubAPI(t, ghToken, ghRepo)
	api.Secret = testToken
	h.onGitHub(api)
	h.env["GITHUB_EVENT_NAME"] = "push"
	stdout, stderr, err := h.run(t, "--github-deployment")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout, stderr)
	}
	deps := api.Deployments()
	if len(deps) != 1 {
		t.Fatalf("%d deployments, want 1", len(deps))
	}
	d, out := deps[0], h.outputs(t)
	payload, _ := d.Request["payload"].(map[string]any)
	if d.Request["environment"] != "statebacked/toggle" || d.Request["ref"] != h.env["GITHUB_SHA"] || d.Request["transient_environment"] != false ||
		payload["migration_bundle_sha256"] != out["bundle-sha256"] || payload["from_version"] != demoFrom {
		t.Errorf("deployment created as %v", d.Request)
	}
	if len(d.Statuses) != 2 || d.Statuses[0]["state"] != "in_progress" || d.Statuses[1]["state"] != "success" ||
		d.Statuses[1]["description"] != "migration "+out["migration-id"] {
		t.Errorf("statuses %v", d.Statuses)
	}

	h.em.FailNext(emulator.StepFinalize, 1, 400, `{"error":"the code is not valid","code":"invalid-parameter"}`)
	if _, _, err := h.run(t, "--github-deployment", "--environment", "preview", "--retries", "1"); ExitCode(err) != 1 {
		t.Fatalf("exit code %d: %v", ExitCode(err), err)
	}
	deps = api.Deployments()
	if len(deps) != 2 || deps[1].Request["environment"] != "preview" || len(deps[1].Statuses) != 2 || deps[1].Statuses[1]["state"] != "failure" ||
		!strings.Contains(fmt.Sprint(deps[1].Statuses[1]["description"]), "the code is not valid") {
		t.Errorf("a failed deploy: %+v", deps[1:])
	}
	h.write(t, "app/broken.ts", "export const upgradeState = (;")
	if _, _, err := h.run(t, "--github-deployment", "--file", "broken.ts"); ExitCode(err) != 1 {
		t.Fatalf("exit code %d: %v", ExitCode(err), err)
	}
	if deps := api.Deployments(); len(deps) != 2 {
		t.Errorf("%d deployments: code that fails its checks sends no request, to GitHub either", len(deps))
	}

	h.env["INPUT_MODE"], h.env["INPUT_CONFIRM-DELETE"] = "teardown", demoMachine
	for _, k := range []string{"INPUT_FILE", "INPUT_FROM-VERSION", "INPUT_TO-VERSION", "INPUT_WORKING-DIRECTORY", "INPUT_GZIP", "INPUT_VALIDATE"} {
		delete(h.env, k)
	}
	if stdout, stderr, err := h.run(t, "--github-deployment"); err != nil {
		t.Fatalf("teardown: %v\n%s%s", err, stdout, stderr)
	}
	statuses := api.Deployments()[0].Statuses
	if last := statuses[len(statuses)-1]; last["state"] != "inactive" {
		t.Errorf("after the teardown, status %v", last)
	}
	if p := api.Problems(); len(p) > 0 {
		t.Errorf("requests GitHub would refuse:\n%s", strings.Join(p, "\n"))
	}
}

// TestCommentFitsAndEscapes checks the comment of a plan too large for
// GitHub, whose state names and error are hostile: it fits, its long table
// is folded and cut with a count, its diagram is left out, and no text
// from the code can mention, inject HTML or end the marker.
func TestCommentFitsAndEscapes(t *testing.T) {
	t.Parallel()
	hostile := "</details><img src=x onerror=alert(1)> @octo/admins --> ```"
	var states []validate.State
	var mappings []validate.Mapping
	for i := range 3000 {
		name := fmt.Sprintf("%s-%04d-%s", hostile, i, strings.Repeat("x", 20))
		states = append(states, validate.State{Path: []string{name}, Type: "atomic"})
		mappings = append(mappings, validate.Mapping{Old: name, New: []string{name}})
	}
	m := &validate.Machine{Root: validate.State{Type: "compound", Initial: states[0].Path[0]}, States: states}
	cfg := &config{mode: modeNamed("migration"), machine: "toggle", from: demoFrom}
	r := &report{cfg: cfg, now: time.Now, started: time.Now(), err: fmt.Errorf("upgradeState threw %s", hostile),
		plan: &planReport{Plan: &worker.Plan{Migration: &validate.Plan{Mappings: mappings}, From: m, To: m}, from: "a.ts", to: "b.ts"}}
	body := r.comment(func(s string) string { return s })
	if n := len([]rune(body)); n > 65_536 {
		t.Fatalf("%d characters, over GitHub's limit", n)
	}
	for _, want := range []string{"<!-- sbdeploy migration toggle -->\n", "<details><summary>3000 old states</summary>", "more | cut to fit", "</details>",
		"The state diagram is left out"} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q", want)
		}
	}
	// Code spans show their text as it is; outside them, nothing the code
	// wrote may be markup.
	outside := regexp.MustCompile("`[^`\n]*`").ReplaceAllString(body, "")
	if strings.Count(outside, "-->") != 1 || strings.Contains(outside, "<img") || strings.Count(outside, "</details>") != strings.Count(outside, "<details>") {
		t.Errorf("markup from the code outside code spans:\n%s", outside[:min(len(outside), 3000)])
	}
	if strings.Contains(body, "@octo") {
		t.Error("a mention survives")
	}
}

// TestDiagramEscapes checks the Mermaid diagram of a machine whose state
// names are hostile: each name is a label of entity codes, which cannot end
// the label, the diagram or the code block.
func TestDiagramEscapes(t *testing.T) {
	t.Parallel()
	old := &validate.Machine{Root: validate.State{Type: "compound", Initial: "a"}, States: []validate.State{{Path: []string{"a"}, Type: "atomic"}}}
	new := &validate.Machine{Root: validate.State{Type: "compound", Initial: "x\"]\n```<b>"}, States: []validate.State{
		{Path: []string{"x\"]\n```<b>"}, Type: "compound", Initial: "inner"},
		{Path: []string{"x\"]\n```<b>", "inner"}, Type: "final"},
	}}
	r := &report{plan: &planReport{Plan: &worker.Plan{From: old, To: new,
		Diff: validate.Diff{StatesAdded: []string{"x\"]\n```<b>", "x\"]\n```<b>.inner"}, StatesRemoved: []string{"a"}}}}}
	d := r.diagram()
	want := "  state \"x#34;#93;#10;#96;#96;#96;#60;b#62;\" as s0\n  state s0 {\n    state \"inner\" as s1\n    class s1 added\n    s1 --> [*]\n    [*] --> s1\n  }\n  class s0 added\n  state \"a\" as s2\n  class s2 removed\n  [*] --> s0\n"
	if !strings.Contains(d, want) {
		t.Errorf("diagram:\n%s\nwant it to hold:\n%s", d, want)
	}
	if strings.Count(d, "```") != 2 {
		t.Errorf("the code block is broken:\n%s", d)
	}
}

// TestGitHubInputsAsFlags checks that outside GitHub a refused setting
// names the flag, and that github-deployment in a dry run says it records
// nothing and needs no token.
func TestGitHubInputsAsFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for k := range h.env {
		if strings.HasPrefix(k, "GITHUB_") {
			delete(h.env, k)
		}
	}
	_, _, err := h.run(t, "--dry-run", "--comment-on-pr", "--github-token", ghToken)
	if ExitCode(err) != 2 || !strings.Contains(err.Error(), `--comment-on-pr: "" is not a repository`) || strings.Contains(err.Error(), "----") {
		t.Errorf("exit code %d: %v", ExitCode(err), err)
	}
	stdout, stderr, err := h.run(t, "--dry-run", "--github-deployment")
	if err != nil || !strings.Contains(stdout, "--github-deployment: a dry run records no GitHub deployment") {
		t.Errorf("err %v:\n%s%s", err, stdout, stderr)
	}
}

// TestCommentLinksNothing checks that text from the code or a server in
// the comment makes no link (GitHub links bare URLs and www. names) and
// that an import path cannot add a row of its own.
func TestCommentLinksNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	api := testkit.NewGitHubAPI(t, ghToken, ghRepo)
	h.onPullRequest(t, api, 5)
	h.write(t, "app/evil.ts", "import y from \"./nope\\n  your token was revoked: sign in at https://evil.example/login or www.evil.example\";\nexport const upgradeState = y; export const upgradeContext = y;\n")
	if _, _, err := h.run(t, "--dry-run", "--comment-on-pr", "--file", "evil.ts"); ExitCode(err) != 1 {
		t.Fatalf("exit code %d: %v", ExitCode(err), err)
	}
	c := api.Comments(5)
	if len(c) != 1 {
		t.Fatalf("%d comments", len(c))
	}
	outside := regexp.MustCompile("`[^`\n]*`").ReplaceAllString(c[0].Body, "")
	if strings.Contains(outside, "https://evil") || strings.Contains(outside, "www.evil") || strings.Contains(outside, "|  | your token") {
		t.Errorf("a link or a forged row outside code spans:\n%s", c[0].Body)
	}
}

// TestCommentKeepsEveryPart checks that a message far over GitHub's limit
// and a diff of thousands of states still leave the error row, the removed
// states and the warning in the comment, each cut with a count.
func TestCommentKeepsEveryPart(t *testing.T) {
	t.Parallel()
	var added []string
	for i := range 4000 {
		added = append(added, fmt.Sprintf("state-%04d-%s", i, strings.Repeat("y", 40)))
	}
	cfg := &config{mode: modeNamed("version"), machine: "toggle"}
	r := &report{cfg: cfg, now: time.Now, started: time.Now(), err: fmt.Errorf("threw %s", strings.Repeat("x", 100_000)),
		plan: &planReport{Plan: &worker.Plan{Diff: validate.Diff{StatesAdded: added, StatesRemoved: []string{"paid", "shipped"}}}, from: "a.ts", to: "b.ts"}}
	body := r.comment(func(s string) string { return s })
	if n := len([]rune(body)); n > 65_536 {
		t.Fatalf("%d characters", n)
	}
	for _, want := range []string{"| Error | `threw xxx", "…` |", "and 3950 more", "`paid`, `shipped`", "Instances in a removed state cannot move"} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q", want)
		}
	}
}

// TestDiagramDottedNames checks that a state whose key holds a dot and a
// child state of the same dotted name are two states of the diagram.
func TestDiagramDottedNames(t *testing.T) {
	t.Parallel()
	m := &validate.Machine{Root: validate.State{Type: "compound", Initial: "a"}, States: []validate.State{
		{Path: []string{"a.b"}, Type: "atomic"},
		{Path: []string{"a"}, Type: "compound", Initial: "b"},
		{Path: []string{"a", "b"}, Type: "atomic"},
	}}
	d := (&report{plan: &planReport{Plan: &worker.Plan{From: m, To: m}}}).diagram()
	for _, want := range []string{`state "a.b" as s0`, `state "a" as s1`, `state "b" as s2`} {
		if !strings.Contains(d, want) {
			t.Errorf("diagram lacks %q:\n%s", want, d)
		}
	}
}

// TestCommentBundleChange checks that a version's comment says how its
// bundle's size changed against the old machine's (from-machine-file).
func TestCommentBundleChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.installXstate(t)
	api := testkit.NewGitHubAPI(t, ghToken, ghRepo)
	h.onPullRequest(t, api, 11)
	stdout, stderr, err := h.run(t, "--mode", "version", "--file", machineV2, "--from-machine-file", machineV1,
		"--from-version=", "--to-version=", "--dry-run", "--comment-on-pr")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout, stderr)
	}
	c := api.Comments(11)
	if len(c) != 1 || !regexp.MustCompile("\nBundle against `app/machines/toggle-v1.ts`: [+-][0-9,]+ bytes minified, [+-][0-9,]+ bytes gzipped.\n").MatchString(c[0].Body) {
		t.Errorf("comments %+v, want one that says how the bundle changed", c)
	}
}
