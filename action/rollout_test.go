package action

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// A third version of the example's machine, which no migration leads from.
const demoOther = "ver_toggle_3"

// rolloutHarness is a harness whose machine has, three to a page: `from`
// instances on demoFrom, from which a migration leads to demoTo; `on` on
// demoTo; and `stuck` on demoOther, from which no migration leads to demoTo.
func rolloutHarness(t *testing.T, from, on, stuck int) *harness {
	t.Helper()
	versions := map[string]string{}
	var names []string
	add := func(prefix, version string, n int) {
		for i := range n {
			name := fmt.Sprintf("%s-%02d", prefix, i)
			names = append(names, name)
			versions[name] = version
		}
	}
	add("from", demoFrom, from)
	add("on", demoTo, on)
	add("stuck", demoOther, stuck)
	return newHarnessWith(t, emulator.Config{
		Machines:         map[string][]string{demoMachine: {demoFrom, demoTo, demoOther}},
		Instances:        map[string][]string{demoMachine: names},
		InstanceVersions: map[string]map[string]string{demoMachine: versions},
		Migrations:       map[string][][2]string{demoMachine: {{demoFrom, demoTo}}},
		PageSize:         3,
	})
}

// upgradeMode sets the inputs of mode upgrade to demoTo.
func upgradeMode(h *harness) {
	for _, name := range []string{"INPUT_FROM-VERSION", "INPUT_FILE", "INPUT_WORKING-DIRECTORY", "INPUT_GZIP", "INPUT_VALIDATE"} {
		delete(h.env, name)
	}
	h.env["INPUT_MODE"] = "upgrade"
	h.env["INPUT_TO-VERSION"] = demoTo
}

// moved returns the instances asked to move, in order, with the version.
func moved(em *testkit.Emu) []string {
	var out []string
	for _, r := range em.Requests() {
		if r.Step == emulator.StepSetInstanceVersion {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(r.Path, "/machines/toggle/i/"), "/v")+" "+string(r.Body))
		}
	}
	slices.Sort(out)
	return out
}

func wantMoved(version string, names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n+` {"targetMachineVersionId":"`+version+`"}`)
	}
	slices.Sort(out)
	return out
}

// TestMigrationUpgradesInstances deploys a migration with
// upgrade-instances: once the migration is finalized, every instance not on
// to-version is asked to move, over several pages; the one with no path is
// stranded and named, and the run succeeds.
func TestMigrationUpgradesInstances(t *testing.T) {
	t.Parallel()
	h := rolloutHarness(t, 4, 2, 1)
	h.env["INPUT_UPGRADE-INSTANCES"] = "true"
	stdout, _, err := h.run(t)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout)
	}
	if diff := cmp.Diff(wantMoved(demoTo, "from-00", "from-01", "from-02", "from-03", "stuck-00"), moved(h.em)); diff != "" {
		t.Errorf("instances asked to move (-want +got):\n%s", diff)
	}
	// Never before the migration they need is finalized.
	got := steps(h.em)
	if finalized, firstMove := slices.Index(got, emulator.StepFinalize), slices.Index(got, emulator.StepSetInstanceVersion); finalized < 0 || firstMove < finalized {
		t.Errorf("requests %v: an instance was asked to move before the migration was finalized", got)
	}
	out := h.outputs(t)
	if out["migration-id"] == "" || out["upgraded-instances"] != "4" || out["stranded-instances"] != "1" {
		t.Errorf("outputs = %v, want a migration-id, 4 upgraded, 1 stranded", out)
	}
	if !strings.Contains(stdout, "::warning::1 instances have no migration path to ver_toggle_2 and stay on their version: stuck-00") {
		t.Errorf("no warning naming the stranded instance:\n%s", stdout)
	}
	summary := readFile(t, h.summary)
	hasAll(t, "summary", summary,
		"| Instances | 7 listed: 4 asked to move to `ver_toggle_2`, 2 on it already, 1 stranded (no migration path) |",
		"| Instances by version (before → after) | `ver_toggle_1`: 4 → 0, `ver_toggle_2`: 2 → 6, `ver_toggle_3`: 1 → 1 |",
	)
}

// TestReleaseUpgradesInstances moves the instances to the version the
// release deploys.
func TestReleaseUpgradesInstances(t *testing.T) {
	t.Parallel()
	h := rolloutHarness(t, 2, 0, 0)
	releaseMode(h)
	h.env["INPUT_UPGRADE-INSTANCES"] = "true"
	if stdout, _, err := h.run(t); err != nil {
		t.Fatalf("run: %v\n%s", err, stdout)
	}
	vs := h.em.Versions()
	if len(vs) != 1 {
		t.Fatalf("versions = %+v, want one", vs)
	}
	if diff := cmp.Diff(wantMoved(vs[0].ID, "from-00", "from-01"), moved(h.em)); diff != "" {
		t.Errorf("instances asked to move (-want +got):\n%s", diff)
	}
	if out := h.outputs(t); out["upgraded-instances"] != "2" || out["version-id"] != vs[0].ID {
		t.Errorf("outputs = %v", out)
	}
}

func TestUpgradeMode(t *testing.T) {
	t.Parallel()
	h := rolloutHarness(t, 5, 1, 2)
	upgradeMode(h)
	stdout, _, err := h.run(t)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout)
	}
	if diff := cmp.Diff(wantMoved(demoTo, "from-00", "from-01", "from-02", "from-03", "from-04", "stuck-00", "stuck-01"), moved(h.em)); diff != "" {
		t.Errorf("instances asked to move (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"upgraded-instances": "5", "stranded-instances": "2", "failed-instances": "0"}, h.outputs(t)); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	for _, s := range steps(h.em) {
		if s != emulator.StepListInstances && s != emulator.StepSetInstanceVersion {
			t.Errorf("mode upgrade sent a %s request", s)
		}
	}
	if s := readFile(t, h.summary); !strings.Contains(s, "### StateBacked: Upgraded instances") {
		t.Errorf("summary:\n%s", s)
	}
}

func TestUpgradeDryRun(t *testing.T) {
	t.Parallel()
	h := rolloutHarness(t, 5, 1, 2)
	upgradeMode(h)
	h.env["INPUT_DRY-RUN"] = "true"
	stdout, _, err := h.run(t)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout)
	}
	if m := moved(h.em); len(m) != 0 {
		t.Errorf("a dry run asked instances to move: %v", m)
	}
	if diff := cmp.Diff(map[string]string{"upgraded-instances": "0", "stranded-instances": "0", "failed-instances": "0"}, h.outputs(t)); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if !strings.Contains(stdout, "::notice::dry run: would ask 7 instances of machine toggle to move to ver_toggle_2; none was asked") {
		t.Errorf("no dry-run notice:\n%s", stdout)
	}
	summary := readFile(t, h.summary)
	hasAll(t, "summary", summary,
		"Upgrade dry run: no instance was asked to move",
		"| Instances by version | `ver_toggle_1`: 5, `ver_toggle_2`: 1, `ver_toggle_3`: 2 |",
	)
}

// TestUpgradeMissingScope checks that a token that cannot move instances
// fails naming the scope, says which scopes a rollout needs, and says how
// many were asked before.
func TestUpgradeMissingScope(t *testing.T) {
	t.Parallel()
	h := rolloutHarness(t, 2, 0, 0)
	upgradeMode(h)
	h.em.FailNext(emulator.StepSetInstanceVersion, 10, 403, `{"error":"the token lacks the instances.write scope","code":"missing-scope"}`)
	_, _, err := h.run(t)
	if err == nil {
		t.Fatal("run succeeded")
	}
	for _, want := range []string{
		"the rollout to ver_toggle_2 stopped after asking 0 instances to move",
		"set-instance-version failed: 403 Forbidden (missing-scope)",
		"a rollout needs instances.read (to list instances) and instances.write (to ask them to move)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestReuseVersion reruns a version deploy with reuse-version: the version
// that a run with the same client info deployed is reused, and nothing is
// uploaded, unless it does not qualify.
func TestReuseVersion(t *testing.T) {
	t.Parallel()
	cfg := emulator.Config{
		Machines:          map[string][]string{demoMachine: {demoFrom, demoTo}},
		CurrentVersions:   map[string]string{demoMachine: demoTo},
		VersionClientInfo: map[string]string{demoFrom: "sha-old", demoTo: "sha-current"},
	}
	tests := []struct {
		name        string
		clientInfo  string
		makeCurrent string
		reused      string // the version reused; "" when a new one is deployed
	}{
		{"the current version, with make-current", "sha-current", "true", demoTo},
		{"a version that is not current, with make-current", "sha-old", "true", ""},
		{"a version that is not current, without make-current", "sha-old", "false", demoFrom},
		{"no version with this client info", "sha-new", "false", ""},
		{"an empty client info never matches", "", "false", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarnessWith(t, cfg)
			versionMode(h)
			h.env["INPUT_REUSE-VERSION"] = "true"
			h.env["INPUT_CLIENT-INFO"] = tt.clientInfo
			h.env["INPUT_MAKE-CURRENT"] = tt.makeCurrent
			stdout, _, err := h.run(t)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, stdout)
			}
			out := h.outputs(t)
			uploads := slices.Contains(steps(h.em), emulator.StepUpload)
			if tt.reused != "" {
				if out["version-id"] != tt.reused || out["version-reused"] != "true" || uploads || len(h.em.Versions()) != 0 {
					t.Errorf("outputs %v, uploaded %v: want %s reused and nothing uploaded", out, uploads, tt.reused)
				}
				if !strings.Contains(readFile(t, h.summary), "(reused: deployed before with client info") {
					t.Errorf("the summary does not say the version was reused:\n%s", readFile(t, h.summary))
				}
				return
			}
			vs := h.em.Versions()
			if len(vs) != 1 || out["version-id"] != vs[0].ID || out["version-reused"] != "false" {
				t.Errorf("outputs %v, versions %+v: want a new version deployed", out, vs)
			}
		})
	}
}

// TestReleaseRerunFinishes reruns a release whose migration failed, with
// reuse-version: the version deployed the first time is reused, and only the
// migration (and the rollout) are deployed. The error of the first run says
// how to finish it.
func TestReleaseRerunFinishes(t *testing.T) {
	t.Parallel()
	h := rolloutHarness(t, 2, 0, 0)
	releaseMode(h)
	h.env["GITHUB_SHA"] = "0123abcd"
	h.env["INPUT_UPGRADE-INSTANCES"] = "true"
	h.em.FailNext(emulator.StepProvision, 1, 403, `{"error":"no","code":"missing-scope"}`)
	_, _, err := h.run(t)
	if err == nil || ExitCode(err) != 3 || !strings.Contains(err.Error(), "run the job again with reuse-version: true") {
		t.Fatalf("first run: err = %v (exit code %d), want exit code 3 and how to finish", err, ExitCode(err))
	}
	if m := moved(h.em); len(m) != 0 {
		t.Errorf("instances were asked to move to a release whose migration failed: %v", m)
	}
	first := h.em.Versions()

	h.env["INPUT_REUSE-VERSION"] = "true"
	if stdout, _, err := h.run(t); err != nil {
		t.Fatalf("rerun: %v\n%s", err, stdout)
	}
	vs, ms := h.em.Versions(), h.em.Migrations()
	if len(first) != 1 || len(vs) != 1 || vs[0].ID != first[0].ID {
		t.Fatalf("versions after the rerun = %+v, want only the first run's %+v", vs, first)
	}
	if len(ms) != 1 || !ms[0].Finalized || ms[0].To != vs[0].ID {
		t.Errorf("migrations = %+v, want one finalized to %s", ms, vs[0].ID)
	}
	if diff := cmp.Diff(wantMoved(vs[0].ID, "from-00", "from-01"), moved(h.em)); diff != "" {
		t.Errorf("instances asked to move (-want +got):\n%s", diff)
	}
	if out := h.outputs(t); out["version-reused"] != "true" || out["migration-id"] != ms[0].ID {
		t.Errorf("outputs = %v", out)
	}
}
