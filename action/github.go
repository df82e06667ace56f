package action

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
	"unicode"

	"sbdeploy/internal/github"
)

// githubConfig is what the run tells GitHub: a comment on the pull request
// (comment-on-pr), and a deployment with its status (github-deployment).
// GitHub is told, never asked: what it refuses is a warning, and the run's
// result is the deploy's.
type githubConfig struct {
	comment     bool
	deployment  bool
	environment string         // the deployment's environment
	client      *github.Client // with github-token, to GITHUB_API_URL only; nil when the run tells GitHub nothing
	pr          int            // the pull request's number; 0 when the event is not a pull request
	event       string         // GITHUB_EVENT_NAME
	ref         string         // the commit a deployment names: GITHUB_SHA, or outside GitHub git's HEAD
}

// deploymentInputs are the inputs of the modes that record a GitHub
// deployment: those that deploy code, and teardown, which ends them.
var deploymentInputs = []string{"github-deployment", "environment"}

// defaultGitHubAPI is the API of github.com, for runs without GITHUB_API_URL.
const defaultGitHubAPI = "https://api.github.com"

// maxEvent bounds the event file read for the pull request's number.
const maxEvent = 32 << 20

// githubTimeout bounds what the run tells GitHub once it is over, so that a
// run past its own time limit still reports.
const githubTimeout = 30 * time.Second

// loadGitHub checks the inputs that tell GitHub about the run. Nothing of it
// is sent before the run has checked everything else.
func (c *config) loadGitHub(src source, errs *problems) {
	g := &c.github
	g.comment = c.bool(src, "comment-on-pr", errs)
	g.deployment = c.bool(src, "github-deployment", errs)
	token := src.get("github-token")
	if token == "" && c.names.flags {
		token = strings.TrimSpace(src.getenv("GITHUB_TOKEN"))
	}
	g.environment = cmp.Or(src.get("environment"), "statebacked/"+c.machine)
	if len(g.environment) > 255 || strings.ContainsFunc(g.environment, unicode.IsControl) {
		errs.add("environment", "%s is not an environment name: use at most 255 characters, none of them control characters", quote(g.environment))
	}
	if src.given("environment") && !g.deployment {
		errs.add("environment", "only with %s: set it to record the deploy as a GitHub deployment to this environment, or remove environment", c.names.setting("github-deployment", "true"))
	}
	if !g.comment && (!g.deployment || c.dryRun) { // a dry run records no deployment: tellGitHub says so
		return
	}
	uses := "comment-on-pr"
	if !g.comment {
		uses = "github-deployment"
	}
	g.event = src.getenv("GITHUB_EVENT_NAME")
	if token == "" {
		errs.add("github-token", "required with %s: on GitHub leave it out (it is the workflow's token), elsewhere pass %s or set GITHUB_TOKEN", c.names.input(uses), c.names.input("github-token"))
		return
	}
	var err error
	if g.client, err = github.New(cmp.Or(src.getenv("GITHUB_API_URL"), defaultGitHubAPI), token, src.getenv("GITHUB_REPOSITORY")); err != nil {
		errs.add(uses, "%v: set GITHUB_API_URL and GITHUB_REPOSITORY as a GitHub runner does", err)
		return
	}
	if g.deployment && !c.dryRun {
		if g.ref = src.getenv("GITHUB_SHA"); g.ref == "" && src.gitHead != nil {
			g.ref = src.gitHead()
		}
		if g.ref == "" {
			errs.add("github-deployment", "needs the commit deployed: set GITHUB_SHA, as a GitHub runner does, or run inside a git checkout")
		}
	}
	if g.comment && (g.event == "pull_request" || g.event == "pull_request_target") {
		if g.pr, err = pullRequestNumber(src.getenv("GITHUB_EVENT_PATH")); err != nil {
			errs.add("comment-on-pr", "%v", err)
		}
	}
}

// pullRequestNumber reads the pull request's number from the event file
// the runner wrote.
func pullRequestNumber(path string) (int, error) {
	if path == "" {
		return 0, errors.New("a pull_request event with no GITHUB_EVENT_PATH: the runner sets it; outside GitHub set it to the event's JSON file")
	}
	// O_NONBLOCK: a FIFO put there opens at once, and is then refused.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, fmt.Errorf("the event file (GITHUB_EVENT_PATH): %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("the event file (GITHUB_EVENT_PATH) %s is not a regular file", quote(path))
	}
	var ev struct {
		Number      int `json:"number"`
		PullRequest struct {
			Number int `json:"number"`
		} `json:"pull_request"`
	}
	if err := json.NewDecoder(io.LimitReader(f, maxEvent)).Decode(&ev); err != nil {
		return 0, fmt.Errorf("the event file (GITHUB_EVENT_PATH) is not an event's JSON: %w", err)
	}
	n := cmp.Or(ev.PullRequest.Number, ev.Number)
	if n <= 0 {
		return 0, errors.New("the event file (GITHUB_EVENT_PATH) names no pull request")
	}
	return n, nil
}

// beginDeployment creates the run's GitHub deployment, marked in progress,
// beside the deploy, which it does not hold up. Its payload holds what is
// known before the deploy: the IDs come with its final status, as a
// deployment cannot change once created.
func (d *deployer) beginDeployment(ctx context.Context) {
	c := d.cfg.github.client
	if c == nil || !d.cfg.github.deployment || d.cfg.mode.name == "teardown" {
		return
	}
	payload := map[string]any{"machine": d.cfg.machine, "mode": d.cfg.mode.name}
	if d.cfg.from != "" {
		payload["from_version"] = d.cfg.from
	}
	if d.cfg.deploysVersion() {
		payload["client_info"] = d.cfg.version.clientInfo
	} else if d.cfg.to != "" {
		payload["to_version"] = d.cfg.to
	}
	for _, b := range d.rep.bundles {
		payload[b.kind.String()+"_bundle_sha256"] = b.sha256
	}
	dep := github.Deployment{
		Ref:         d.cfg.github.ref,
		Environment: d.cfg.github.environment,
		Description: "sbdeploy " + d.cfg.mode.name + " " + d.cfg.machine,
		Payload:     payload,
		Transient:   strings.HasPrefix(d.cfg.github.event, "pull_request"),
	}
	d.deployment = make(chan int64, 1)
	go func() {
		id, err := c.CreateDeployment(ctx, dep)
		if err == nil {
			err = c.SetStatus(ctx, id, github.Status{State: "in_progress", LogURL: d.rep.runURL})
		}
		if err != nil {
			d.githubWarning("create the GitHub deployment", "deployments: write", err)
		}
		d.deployment <- id
	}()
}

// tellGitHub reports the finished run to GitHub: the deployment's final
// status (or, after a teardown, every deployment of the environment made
// inactive), then the pull request's comment. ctx is the run's parent
// context, not its time limit, which may be over.
func (d *deployer) tellGitHub(ctx context.Context, runErr error) {
	g := d.cfg.github
	if g.deployment && d.cfg.dryRun {
		d.log.noticef("%s: a dry run records no GitHub deployment", d.cfg.names.input("github-deployment"))
	}
	c := g.client
	if c == nil {
		return
	}
	switch {
	case d.deployment != nil:
		// Each call below has a budget of its own, from when it starts.
		if id := <-d.deployment; id != 0 {
			ctx, cancel := context.WithTimeout(ctx, githubTimeout)
			defer cancel()
			st := github.Status{State: "success", Description: d.rep.idsText(), LogURL: d.rep.runURL}
			if runErr != nil {
				st = github.Status{State: "failure", Description: firstLine(d.log.redact(runErr.Error())), LogURL: d.rep.runURL}
			}
			if err := c.SetStatus(ctx, id, st); err != nil {
				d.githubWarning("set the GitHub deployment's status", "deployments: write", err)
			} else {
				d.log.infof("GitHub deployment %d to %s: %s", id, g.environment, st.State)
			}
		}
	case g.deployment && d.cfg.mode.name == "teardown" && !d.cfg.dryRun && runErr == nil:
		ctx, cancel := context.WithTimeout(ctx, githubTimeout)
		defer cancel()
		if n, err := c.Deactivate(ctx, g.environment); err != nil {
			d.githubWarning("mark the GitHub deployments inactive", "deployments: write", err)
		} else {
			d.log.infof("GitHub: %d deployment(s) to %s marked inactive", n, g.environment)
		}
	}
	if !g.comment {
		return
	}
	if g.pr == 0 {
		d.log.warnf("%s: the event is %s, not a pull request, so there is no pull request to comment on", d.cfg.names.input("comment-on-pr"), cmp.Or(g.event, "unknown"))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, githubTimeout)
	defer cancel()
	body := d.rep.comment(d.log.redact)
	created, err := c.UpsertComment(ctx, g.pr, d.rep.commentMarker(), body)
	switch {
	case err != nil:
		d.githubWarning("comment on pull request #"+fmt.Sprint(g.pr), "pull-requests: write", err)
	case created:
		d.log.infof("commented on pull request #%d", g.pr)
	default:
		d.log.infof("updated the comment on pull request #%d", g.pr)
	}
}

// githubWarning reports what GitHub refused, with why: a pull request from
// a fork gets a read-only token, and a workflow must grant permission.
func (d *deployer) githubWarning(what, permission string, err error) {
	why := ""
	if github.Forbidden(err) {
		why = fmt.Sprintf(": the token may not; grant `permissions: %s` to the job (a pull request from a fork gets a read-only token, which never may)", permission)
	}
	d.log.warnf("could not %s: %s%s; the deploy's result stands", what, d.log.redact(err.Error()), why)
}

// idsText names what the run deployed, for the deployment's status.
func (r *report) idsText() string {
	var ids []string
	if r.versionID != "" {
		ids = append(ids, "version "+r.versionID)
	}
	if r.migrationID != "" {
		ids = append(ids, "migration "+r.migrationID)
	}
	return strings.Join(ids, ", ")
}
