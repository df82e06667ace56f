package action

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sbdeploy/emulator"
)

// gitInit makes dir a git repository with one commit, and returns it.
func gitInit(t *testing.T, dir string) string {
	t.Helper()
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "x"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// cliHarness is a harness run as a person runs the program outside GitHub:
// flags, no GITHUB_ variables, from dir below the workspace.
func cliHarness(t *testing.T, dir string) *harness {
	h := newHarness(t)
	for k := range h.env {
		if strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "INPUT_") {
			delete(h.env, k)
		}
	}
	h.env["STATEBACKED_TOKEN"] = testToken
	h.dir = filepath.Join(h.workspace, dir)
	return h
}

// TestWorkspaceIsTheGitRoot checks that, outside GitHub, a run from a
// folder of a git repository confines the bundle to the whole repository
// (a package.json above the folder is inside it, not a file to remove), that
// working-directory and file are relative to where the command runs, and
// that a version's client info is the HEAD commit.
func TestWorkspaceIsTheGitRoot(t *testing.T) {
	t.Parallel()
	h := cliHarness(t, "app")
	h.write(t, "package.json", `{"name": "monorepo", "private": true}`)
	head := gitInit(t, h.workspace)
	stdout, stderr, err := h.run(t, "--mode=version", "--machine", demoMachine, "--file", "machines/toggle.ts",
		"--validate=false", "--api-url", h.apiURL)
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, stdout, stderr)
	}
	if want := "workspace " + h.workspace + ": the root of the git repository"; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	var finalize struct {
		ClientInfo string `json:"clientInfo"`
	}
	for _, r := range h.em.Requests() {
		if r.Step == emulator.StepFinalizeVersion {
			if err := json.Unmarshal(r.Body, &finalize); err != nil {
				t.Fatal(err)
			}
		}
	}
	if finalize.ClientInfo != head {
		t.Errorf("client info %q, want the HEAD commit %s", finalize.ClientInfo, head)
	}
}

// TestWorkspaceOutsideGit checks that, outside GitHub and outside any git
// repository, the workspace is the working directory, and that a version
// deployed with no client info says so.
func TestWorkspaceOutsideGit(t *testing.T) {
	t.Parallel()
	h := cliHarness(t, "app")
	stdout, stderr, err := h.run(t, "--mode=version", "--machine", demoMachine, "--file", "machines/toggle.ts",
		"--validate=false", "--api-url", h.apiURL)
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, stdout, stderr)
	}
	if want := "workspace " + h.dir + ": the working directory, which is in no git repository"; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	if want := "notice: the version's client info is empty (no --client-info, GITHUB_SHA or git commit)"; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
}
