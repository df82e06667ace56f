package action

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
	"sbdeploy/validate"
)

// The example's two machines, for the migration check.
const (
	machineV1 = "machines/toggle-v1.ts"
	machineV2 = "machines/toggle.ts"
)

// checkArgs are the flags of a migration with the check on.
func checkArgs(extra ...string) []string {
	return append([]string{"--from-machine-file", machineV1, "--to-machine-file", machineV2}, extra...)
}

// brokenMigrations are the mistakes the check must catch, as changes to the
// example's migration, and what the error says of each.
var brokenMigrations = []struct {
	name, old, new string
	want           string
}{
	{"forgets a renamed state", "return [renamed[top] ?? top, ...rest];", `return [top === "on" ? "enabled" : top, ...rest];`,
		`upgradeState(["off"]) returned ["off"], which names no state of the new machine`},
	{"returns a string", "return [renamed[top] ?? top, ...rest];", "return (renamed[top] ?? top) as any;",
		`upgradeState(["off"]) returned a string ("disabled"), not an array of state keys`},
	{"returns no context", "return { ...context, switches: 0 };", "Object.assign(context, { switches: 0 }); return undefined as any;",
		`upgradeContext([["off"]]) returned undefined, not a context object`},
	{"never returns", "const [top, ...rest] = path;", "while (path.length > 0) {}\n  const [top, ...rest] = path;",
		`upgradeState(["off"]) did not return within 1s`},
}

// TestMigrationCheckRefuses runs each broken migration through the action:
// exit code 1, the state named, an annotation, and no request, in a real
// run and in a dry run without credentials.
func TestMigrationCheckRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range brokenMigrations {
		for _, dry := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s dry-run %v", tt.name, dry), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t)
				h.installXstate(t)
				h.breakMigration(t, tt.old, tt.new)
				if tt.name == "never returns" {
					// Long enough for the machines' evaluation, with xstate,
					// under the race detector on a busy machine.
					h.opts = append(h.opts, withValidation(validate.Options{Timeout: time.Second}))
				}
				if dry {
					h.env["INPUT_DRY-RUN"] = "true"
					delete(h.env, "INPUT_TOKEN")
				}
				stdout, stderr, err := h.run(t, checkArgs()...)
				if ExitCode(err) != 1 || !strings.Contains(err.Error(), "migration check of app/migrations/toggle-v1-to-v2.ts failed") {
					t.Fatalf("exit code %d: %v, want 1 and the migration check failed\n%s%s", ExitCode(err), err, stdout, stderr)
				}
				if !strings.Contains(stdout, "::error ") || !strings.Contains(stdout, tt.want) {
					t.Errorf("no annotation with %q:\n%s", tt.want, stdout)
				}
				if n := len(h.em.Requests()); n != 0 {
					t.Errorf("%d requests sent", n)
				}
			})
		}
	}
}

// TestMigrationCheckMachineNeverEnds checks that a machine file whose
// evaluation never ends fails the check, saying how to leave the check out
// (validate: false does not).
func TestMigrationCheckMachineNeverEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.installXstate(t)
	h.write(t, "app/machines/endless.ts", "while (true) {}\nexport default 1;\n")
	h.opts = append(h.opts, withValidation(validate.Options{Timeout: 300 * time.Millisecond}))
	_, _, err := h.run(t, "--from-machine-file", "machines/endless.ts", "--to-machine-file", machineV2)
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "if the code runs on the platform, leave out input from-machine-file to skip the migration check") {
		t.Errorf("exit code %d: %v", ExitCode(err), err)
	}
}

// TestReleaseCheckedBeforeVersion checks that a release whose migration
// fails the check sends nothing: not even its version.
func TestReleaseCheckedBeforeVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.installXstate(t)
	h.breakMigration(t, brokenMigrations[0].old, brokenMigrations[0].new)
	_, _, err := h.run(t, "--mode", "release", "--file", machineV2, "--migration-file", demoFile,
		"--from-machine-file", machineV1, "--to-version=", "--client-info", "v2")
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "migration check") {
		t.Fatalf("exit code %d: %v", ExitCode(err), err)
	}
	if n := len(h.em.Requests()); n != 0 {
		t.Errorf("%d requests sent before the check failed", n)
	}
	// to-machine-file is refused in a release: the new machine is file.
	_, _, err = h.run(t, "--mode", "release", "--file", machineV2, "--migration-file", demoFile, "--to-version=",
		"--from-machine-file", machineV1, "--to-machine-file", machineV2)
	if ExitCode(err) != 2 || !strings.Contains(err.Error(), "to-machine-file") {
		t.Errorf("to-machine-file in a release: exit code %d: %v", ExitCode(err), err)
	}
}

// TestMigrationCheckInputs checks the inputs' rules, each refused before
// anything runs (exit code 2).
func TestMigrationCheckInputs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--from-machine-file", machineV1}, "to-machine-file: required with --from-machine-file"},
		{[]string{"--to-machine-file", machineV2}, "from-machine-file: required with --to-machine-file"},
		{[]string{"--replay-instances", "5"}, "replay-instances: needs --from-machine-file"},
		{checkArgs("--replay-instances", "10001"), `replay-instances: "10001" is not a number of instances from 0 to 10000`},
		{checkArgs("--replay-instances", "-1"), `is not a number of instances`},
		{[]string{"--from-machine-file", "base/missing.ts", "--to-machine-file", machineV2}, `from-machine-file: "base/missing.ts" not found`},
		{[]string{"--from-machine-file", "base/missing.ts", "--to-machine-file", machineV2}, `a second actions/checkout of the commit that deployed it`},
		{[]string{"--mode", "version", "--file", machineV2, "--to-version=", "--from-version=", "--to-machine-file", machineV1}, "to-machine-file"},
	} {
		h := newHarness(t)
		h.env = env{"GITHUB_WORKSPACE": h.workspace}
		_, _, err := h.run(t, append([]string{"--machine", demoMachine, "--from-version", demoFrom, "--to-version", demoTo,
			"--working-directory", "app", "--file", demoFile, "--dry-run"}, tt.args...)...)
		if ExitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: exit code %d: %v; want 2 and %q", tt.args, ExitCode(err), err, tt.want)
		}
	}
}

// TestMigrationCheckNeedsXstate checks the advice for machines whose
// imports do not resolve: the packages of a second checkout.
func TestMigrationCheckNeedsXstate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, _, err := h.run(t, checkArgs()...)
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "migration check: evaluating input from-machine-file app/machines/toggle-v1.ts needs xstate") ||
		!strings.Contains(err.Error(), "check it out inside input working-directory") {
		t.Fatalf("exit code %d: %v", ExitCode(err), err)
	}
	if n := len(h.em.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestReplay replays the migration on instances of the emulator: only
// those on from-version are read, at most replay-instances of them, across
// pages; the instance whose context breaks the migration is named, its
// context is not shown, and nothing is deployed.
func TestReplay(t *testing.T) {
	t.Parallel()
	var names []string
	states := map[string]emulator.InstanceState{}
	for i := range 12 {
		name := fmt.Sprintf("inst-%02d", i)
		names = append(names, name)
		states[name] = emulator.InstanceState{State: json.RawMessage(`"off"`), Context: json.RawMessage(`{"lastSwitchedAt":"2024-01-01"}`)}
	}
	states["inst-03"] = emulator.InstanceState{State: json.RawMessage(`"on"`), Context: json.RawMessage(`{"lastSwitchedAt":7,"email":"private@example.com"}`)}
	cfg := emulator.Config{PageSize: 5, Instances: map[string][]string{demoMachine: names},
		InstanceVersions: map[string]map[string]string{demoMachine: {"inst-00": demoTo, "inst-01": demoTo}},
		InstanceStates:   map[string]map[string]emulator.InstanceState{demoMachine: states}}
	h := newHarnessWith(t, cfg)
	h.installXstate(t)
	// A context whose lastSwitchedAt is not a string breaks the migration:
	// only inst-03's, not the initial context, which has none.
	h.breakMigration(t, "return { ...context, switches: 0 };",
		`return { ...context, switches: 0, year: context.lastSwitchedAt === undefined ? 0 : context.lastSwitchedAt.slice(0, 4) };`)
	stdout, stderr, err := h.run(t, checkArgs("--replay-instances", "7")...)
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "the replay on instances on ver_toggle_1: 1 call(s)") {
		t.Fatalf("exit code %d: %v\n%s%s", ExitCode(err), err, stdout, stderr)
	}
	if !strings.Contains(stdout, `instance inst-03: upgradeContext([["on"]]) threw TypeError`) || strings.Contains(stdout+stderr, "private@") {
		t.Errorf("want inst-03 named, and no context:\n%s%s", stdout, stderr)
	}
	var read []string
	for _, r := range h.em.Requests() {
		switch r.Step {
		case emulator.StepReadInstance:
			read = append(read, strings.TrimSuffix(strings.TrimPrefix(r.Path, "/machines/toggle/i/"), "/admin"))
		case emulator.StepListInstances:
		default:
			t.Errorf("request %s %s: want no other requests", r.Method, r.Path)
		}
	}
	// inst-00 and inst-01 are on to-version; 7 are read, in listing order,
	// though the second page has 5.
	if want := "inst-02 inst-03 inst-04 inst-05 inst-06 inst-07 inst-08"; strings.Join(slices.Sorted(slices.Values(read)), " ") != want {
		t.Errorf("read %q, want %s", read, want)
	}
	summary, _ := os.ReadFile(h.summary)
	if !strings.Contains(string(summary), "Replayed on 7 instance(s) on `ver_toggle_1`: 6 passed, 1 failed.") ||
		!strings.Contains(string(summary), "- upgradeContext threw: 1") || !strings.Contains(string(summary), "| `off` | `disabled` |") {
		t.Errorf("summary:\n%s", summary)
	}
}

// TestReplayNeedsAdmin checks that a CI key's missing instances.admin
// scope is named, with what to use instead.
func TestReplayNeedsAdmin(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Config{Instances: map[string][]string{demoMachine: {"a"}},
		CIKeys: map[string]string{"sbk_ci": "sbsec_ci_secret_0123456789"}})
	h.installXstate(t)
	delete(h.env, "INPUT_TOKEN")
	h.env["INPUT_KEY-ID"], h.env["INPUT_SECRET-KEY"] = "sbk_ci", "sbsec_ci_secret_0123456789"
	_, _, err := h.run(t, checkArgs("--replay-instances", "5")...)
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "instances.admin") || !strings.Contains(err.Error(), "replay-instances") {
		t.Fatalf("exit code %d: %v", ExitCode(err), err)
	}
}

// TestVersionDiff checks that a version with from-machine-file shows the
// states and events added and removed, and warns of removed states.
func TestVersionDiff(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.installXstate(t)
	stdout, stderr, err := h.run(t, "--mode", "version", "--file", machineV2, "--from-machine-file", machineV1,
		"--from-version=", "--to-version=", "--dry-run")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "::warning::app/machines/toggle.ts removes states that app/machines/toggle-v1.ts has (off, on)") {
		t.Errorf("no warning of the removed states:\n%s", stdout)
	}
	summary, _ := os.ReadFile(h.summary)
	if !strings.Contains(string(summary), "| States | `disabled`, `enabled` | `off`, `on` |") {
		t.Errorf("summary:\n%s", summary)
	}
}

// breakMigration changes the example's migration.
func (h *harness) breakMigration(t *testing.T, old, new string) {
	t.Helper()
	path := filepath.Join(h.workspace, "app", demoFile)
	src, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(src), old) {
		t.Fatalf("the example's migration lacks %q (%v)", old, err)
	}
	h.write(t, filepath.Join("app", demoFile), strings.Replace(string(src), old, new, 1))
}

// TestGroupLinesAreText checks that a group's lines, which can hold names
// from the code being deployed, cannot become workflow commands.
func TestGroupLinesAreText(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	l := newLogger(true, &out, io.Discard, func(string) string { return "" })
	l.group("migration check", "x\n::warning file=README.md::injected", "::add-mask::shown", " ::error::y", "off -> disabled")
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "::") && !strings.HasPrefix(s, "::group::") && s != "::endgroup::" {
			t.Errorf("workflow command in a group: %q", line)
		}
	}
	if !strings.Contains(out.String(), "\noff -> disabled\n") {
		t.Errorf("log:\n%s", out.String())
	}
}

// TestBatches checks that a page of large instance states is sent to the
// worker in batches under maxBatchBytes, each instance once, in order.
func TestBatches(t *testing.T) {
	t.Parallel()
	big := json.RawMessage(`{"x":"` + strings.Repeat("a", maxBatchBytes/3) + `"}`)
	var page []deploy.Replayed
	for i := range 7 {
		page = append(page, deploy.Replayed{Name: fmt.Sprint(i), InstanceState: &deploy.InstanceState{State: json.RawMessage(`"off"`), Context: big}})
	}
	var sizes, names []string
	for b := range batches(page) {
		n := 0
		for _, in := range b {
			n += len(in.State) + len(in.Context)
			names = append(names, in.Name)
		}
		if n > maxBatchBytes {
			t.Errorf("a batch of %d bytes", n)
		}
		sizes = append(sizes, fmt.Sprint(len(b)))
	}
	if strings.Join(sizes, " ") != "2 2 2 1" || strings.Join(names, "") != "0123456" {
		t.Errorf("batches of %q, instances %q", sizes, names)
	}
}
