//go:build docker && !noemulator

// The container-action proof: the real Dockerfile built by a real Docker
// engine, run the way the GitHub runner runs it, and the action run under
// act. It needs what .ci/docker-setup.sh prepares (a Docker engine, local
// stand-ins for the base images, act) and runs with:
//
//	go test -tags docker -run 'TestDocker|TestAct' -count=1 -v .
//
// Every container uses the host network and reaches only the emulator on
// 127.0.0.1.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

const (
	testImage = "sbdeploy:test"
	// actImage is the name act gives the image of a local action (uses: ./).
	actImage    = "act-dockeraction:latest"
	runnerImage = "sbdeploy-runner:local"
	// actGitHubToken is the workflows' github.token under act.
	actGitHubToken = "ghs_act_token_0123456789abcdef"
	// maxImageBytes is the budget for the final image: 20 MiB
	// (BENCHMARKS.md, Budgets).
	maxImageBytes = 20 << 20
)

// command runs name with args in the repository, bounded in time, and
// returns its combined output; it fails the test on a non-zero exit.
func command(t *testing.T, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v after %v\n%s", name, strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond), out.String())
	}
	t.Logf("%s %s: %v", name, args[0], time.Since(start).Round(time.Millisecond))
	return out.String()
}

// startEmulator serves an emulator on 127.0.0.1 for the test's duration.
// It accepts testToken and tokens minted from the test key.
func startEmulator(t *testing.T) (*testkit.Emu, string) {
	t.Helper()
	instances := []string{"user-1", "user-2", "user-3", "user-4", "user-5"}
	em := testkit.New(emulator.Config{Token: testToken, Keys: map[string]string{testKeyID: testSecretKey},
		Machines:  map[string][]string{demoMachine: {demoFrom, demoTo}, "toggle-rollout": {demoFrom}},
		Instances: map[string][]string{"toggle-rollout": instances},
		PageSize:  2,
	})
	url, stop, err := em.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return em, url
}

// buildImage builds the real Dockerfile once per test binary.
func buildImage(t *testing.T) {
	t.Helper()
	command(t, 10*time.Minute, nil, "docker", "build", "--network", "host", "-t", testImage, ".")
}

// TestDockerImage builds the image, checks its size, and runs it as the
// GitHub runner runs a container action: the workspace at
// /github/workspace, file commands under /github/file_commands, inputs as
// INPUT_ variables with hyphens kept.
func TestDockerImage(t *testing.T) {
	buildImage(t)
	size, err := strconv.Atoi(strings.TrimSpace(command(t, time.Minute, nil, "docker", "image", "inspect", "-f", "{{.Size}}", testImage)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %d bytes", testImage, size)
	if size > maxImageBytes {
		t.Errorf("image is %d bytes, over the %d-byte budget", size, maxImageBytes)
	}

	em, url := startEmulator(t)
	workspace, files := t.TempDir(), t.TempDir()
	if err := os.CopyFS(filepath.Join(workspace, "app"), os.DirFS("testdata/example")); err != nil {
		t.Fatal(err)
	}
	out := command(t, 2*time.Minute, []string{"INPUT_TOKEN=" + testToken}, "docker", "run", "--rm", "--network", "host",
		"-v", workspace+":/github/workspace", "-v", files+":/github/file_commands", "-w", "/github/workspace",
		"-e", "GITHUB_ACTIONS=true",
		"-e", "GITHUB_WORKSPACE=/github/workspace",
		"-e", "GITHUB_OUTPUT=/github/file_commands/output",
		"-e", "GITHUB_STEP_SUMMARY=/github/file_commands/summary",
		"-e", "INPUT_MACHINE="+demoMachine,
		"-e", "INPUT_FROM-VERSION="+demoFrom,
		"-e", "INPUT_TO-VERSION="+demoTo,
		"-e", "INPUT_WORKING-DIRECTORY=app",
		"-e", "INPUT_FILE="+demoFile,
		"-e", "INPUT_API-URL="+url,
		"-e", "INPUT_TOKEN", // from this process's environment: not on the command line
		testImage)

	migs := em.Migrations()
	if len(migs) != 1 || !migs[0].Finalized {
		t.Fatalf("emulator migrations = %+v, want one finalized\n%s", migs, out)
	}
	got := outputs(t, filepath.Join(files, "output"))
	if got["migration-id"] != migs[0].ID || got["bundle-sha256"] == "" {
		t.Errorf("outputs = %v, want migration-id %s and the bundle's hash", got, migs[0].ID)
	}
	if s := readFile(t, filepath.Join(files, "summary")); !strings.Contains(s, migs[0].ID) {
		t.Errorf("job summary lacks the migration ID:\n%s", s)
	}
	if strings.Count(out, testToken) != 1 { // only in ::add-mask::
		t.Errorf("the token appears %d times in the log, want once (the mask command)", strings.Count(out, testToken))
	}
	// Docker's default seccomp profile lets the worker confine itself,
	// where the kernel has Landlock.
	if abi, err := llsys.LandlockGetABIVersion(); err == nil && abi > 0 && !strings.Contains(out, "confined to the workspace by Landlock ABI ") {
		t.Errorf("the host has Landlock ABI %d, but the worker in the container did not confine itself with it:\n%s", abi, out)
	}
}

// act runs one workflow of testdata/workflows with act against url, for
// event (push unless extra names another with an event file).
func act(t *testing.T, event, workflow, url string, extra ...string) string {
	t.Helper()
	args := append([]string{event, "-W", filepath.Join("testdata", "workflows", workflow),
		"-P", "ubuntu-latest=" + runnerImage, "--pull=false", "--network", "host",
		"--no-cache-server", "--cache-server-addr", "127.0.0.1", "--artifact-server-addr", "127.0.0.1",
		"--container-daemon-socket", "-",
		"--env", "SB_API_URL=" + url,
		// Secrets come from the environment below, not the command line.
		"--secret", "STATEBACKED_TOKEN", "--secret", "STATEBACKED_KEY_ID", "--secret", "STATEBACKED_SECRET_KEY", "--secret", "GITHUB_TOKEN"}, extra...)
	return command(t, 10*time.Minute, []string{"ACT_DISABLE_VERSION_CHECK=1", "STATEBACKED_TOKEN=" + testToken, "GITHUB_TOKEN=" + actGitHubToken,
		"STATEBACKED_KEY_ID=" + testKeyID, "STATEBACKED_SECRET_KEY=" + testSecretKey}, actPath(t), args...)
}

// pullRequestEvent writes a pull_request event for act.
func pullRequestEvent(t *testing.T, action string, number int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "event.json")
	event := fmt.Sprintf(`{"action": %q, "number": %d, "pull_request": {"number": %d, "head": {"ref": "feature"}, "base": {"ref": "main"}}}`,
		action, number, number)
	if err := os.WriteFile(path, []byte(event), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func actPath(t *testing.T) string {
	if p, err := exec.LookPath("act"); err == nil {
		return p
	}
	gopath := strings.TrimSpace(command(t, time.Minute, nil, "go", "env", "GOPATH"))
	p := filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin", "act")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("act is not installed (run .ci/docker-setup.sh): %v", err)
	}
	return p
}

// TestAct runs the workflows of testdata/workflows under act: deploy
// (checkout, uses: ./, a step reading the migration-id output), release
// (with a CI key), the preview environment (pull request opened, then
// closed), a release that moves every instance (twice, the second reusing
// the version), and teardown.
func TestAct(t *testing.T) {
	em, url := startEmulator(t)

	// act builds the action's image from the Dockerfile itself, offline.
	out := act(t, "push", "deploy.yml", url)
	migs := em.Migrations()
	if len(migs) != 1 || !migs[0].Finalized {
		t.Fatalf("emulator migrations = %+v, want one finalized\n%s", migs, out)
	}
	if want := "migration-id=" + migs[0].ID; !regexp.MustCompile(`(?m)\| ` + regexp.QuoteMeta(want) + `$`).MatchString(out) {
		t.Errorf("the later step did not print %q:\n%s", want, out)
	}
	if strings.Contains(out, testToken) {
		t.Error("the token appears in act's log")
	}

	// The image act just built serves the other runs too.
	out = act(t, "push", "release.yml", url, "--rebuild=false")
	vs, ms := em.Versions(), em.Migrations()
	if len(vs) != 1 || len(ms) != 2 || ms[1].To != vs[0].ID {
		t.Fatalf("after release: versions %+v, migrations %+v; want a version and a migration to it\n%s", vs, ms, out)
	}
	if want := fmt.Sprintf("version-id=%s migration-id=%s", vs[0].ID, ms[1].ID); !strings.Contains(out, want) {
		t.Errorf("the later step did not print %q:\n%s", want, out)
	}
	if strings.Contains(out, testSecretKey) {
		t.Error("the secret key appears in act's log")
	}

	out = act(t, "pull_request", "preview.yml", url, "--rebuild=false", "-e", pullRequestEvent(t, "opened", 7))
	if !em.HasMachine("toggle-pr-7") || !strings.Contains(out, "preview version-id=ver_") {
		t.Fatalf("pull request opened: machine toggle-pr-7 exists = %v\n%s", em.HasMachine("toggle-pr-7"), out)
	}
	out = act(t, "pull_request", "preview.yml", url, "--rebuild=false", "-e", pullRequestEvent(t, "closed", 7))
	if em.HasMachine("toggle-pr-7") || !strings.Contains(out, "preview deleted=true") {
		t.Fatalf("pull request closed: machine toggle-pr-7 exists = %v\n%s", em.HasMachine("toggle-pr-7"), out)
	}

	// The plan on a pull request, twice (a push to it): one comment, made
	// then edited, through a GitHub API on 127.0.0.1 (GITHUB_API_URL).
	gh := testkit.NewGitHubAPI(t, actGitHubToken, "octo/app")
	gh.Secret = testToken
	for range 2 {
		out = act(t, "pull_request", "comment.yml", url, "--rebuild=false", "-e", pullRequestEvent(t, "synchronize", 9), "--env", "GITHUB_API_URL="+gh.URL, "--env", "GITHUB_REPOSITORY=octo/app")
	}
	if c := gh.Comments(9); len(c) != 1 || !strings.Contains(c[0].Body, "| `off` | `disabled` |") || !strings.Contains(c[0].Body, "```mermaid") {
		t.Fatalf("pull request comments %+v, want one with the plan\n%s", c, out)
	}
	if p := gh.Problems(); len(p) > 0 || strings.Contains(out, actGitHubToken) {
		t.Errorf("requests GitHub would refuse: %q; or the GitHub token is in act's log", p)
	}
	if !strings.Contains(out, "updated the comment on pull request #9") {
		t.Errorf("the second run did not say it edited the comment:\n%s", out)
	}

	// A release that moves the instances, run twice for the same commit:
	// the second run reuses the version, and asks the instances again.
	out = act(t, "push", "rollout.yml", url, "--rebuild=false")
	var rolled []emulator.Deploy
	for _, v := range em.Versions() {
		if v.Machine == "toggle-rollout" {
			rolled = append(rolled, v)
		}
	}
	if len(rolled) != 1 || !strings.Contains(out, "rollout version-id="+rolled[0].ID+" reused=false upgraded=5 stranded=0") {
		t.Fatalf("rollout: versions %+v\n%s", rolled, out)
	}
	for _, name := range []string{"user-1", "user-5"} {
		if v, _ := em.DesiredVersion("toggle-rollout", name); v != rolled[0].ID {
			t.Errorf("instance %s was asked to move to %q, want %s", name, v, rolled[0].ID)
		}
	}
	out = act(t, "push", "rollout.yml", url, "--rebuild=false")
	n := 0
	for _, v := range em.Versions() {
		if v.Machine == "toggle-rollout" {
			n++
		}
	}
	if n != 1 || !strings.Contains(out, "rollout version-id="+rolled[0].ID+" reused=true upgraded=5") {
		t.Fatalf("rerun: %d versions, want 1 (reused)\n%s", n, out)
	}

	out = act(t, "push", "teardown.yml", url, "--rebuild=false")
	if em.HasMachine(demoMachine) {
		t.Fatalf("machine %s still exists after the teardown workflow\n%s", demoMachine, out)
	}
	if !strings.Contains(out, "deleted=true") {
		t.Errorf("the later step did not print deleted=true:\n%s", out)
	}
	fmt.Fprintln(os.Stderr, "act runs passed")
}
