package action

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

const (
	testKeyID = "sbk_test"
	// testSecretKey is declared in main_test.go.
)

// steps lists the steps of the emulator's recorded requests, in order.
func steps(em *testkit.Emu) []emulator.Step {
	var out []emulator.Step
	for _, r := range em.Requests() {
		out = append(out, r.Step)
	}
	return out
}

func TestVersionMode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	versionMode(h)
	h.env["GITHUB_SHA"] = "0123abcd"
	h.env["INPUT_INDEX-SELECTORS"] = `{"owner": "$.owner"}`
	stdout, _, err := h.run(t)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout)
	}
	vs := h.em.Versions()
	if len(vs) != 1 || !vs[0].Finalized {
		t.Fatalf("versions = %+v, want one finalized", vs)
	}
	v := vs[0]
	if v.ClientInfo != "0123abcd" || !v.MakeCurrent || string(v.IndexSelectors) != `{"owner":"$.owner"}` {
		t.Errorf("finalize gave clientInfo %q, makeCurrent %v, indexSelectors %s", v.ClientInfo, v.MakeCurrent, v.IndexSelectors)
	}
	code := string(testkit.Gunzip(t, v.Code))
	for _, want := range []string{`from"npm:xstate"`, "as default", "allowRead", "allowWrite"} {
		if !strings.Contains(code, want) {
			t.Errorf("uploaded machine lacks %q:\n%s", want, code)
		}
	}
	out := h.outputs(t)
	if out["version-id"] != v.ID || out["migration-id"] != "" || out["bundle-sha256"] == "" {
		t.Errorf("outputs = %v, want version-id %s and no migration-id", out, v.ID)
	}
	want := []emulator.Step{emulator.StepProvisionVersion, emulator.StepUpload, emulator.StepFinalizeVersion}
	if diff := cmp.Diff(want, steps(h.em)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if s := readFile(t, h.summary); !strings.Contains(s, "Deployed machine version") || !strings.Contains(s, v.ID) {
		t.Errorf("summary:\n%s", s)
	}
}

// TestReleaseMode deploys a version and the migration to it in one run.
func TestReleaseMode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	releaseMode(h)
	h.env["INPUT_MAKE-CURRENT"] = "false"
	stdout, _, err := h.run(t)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout)
	}
	vs, ms := h.em.Versions(), h.em.Migrations()
	if len(vs) != 1 || len(ms) != 1 || !vs[0].Finalized || !ms[0].Finalized {
		t.Fatalf("versions %+v, migrations %+v: want one of each, finalized", vs, ms)
	}
	if ms[0].From != demoFrom || ms[0].To != vs[0].ID || vs[0].MakeCurrent {
		t.Errorf("migration %s -> %s, version %s (current %v): want %s -> the new version, not current", ms[0].From, ms[0].To, vs[0].ID, vs[0].MakeCurrent, demoFrom)
	}
	out := h.outputs(t)
	if out["version-id"] != vs[0].ID || out["migration-id"] != ms[0].ID {
		t.Errorf("outputs = %v", out)
	}
	want := []emulator.Step{
		emulator.StepProvisionVersion, emulator.StepUpload, emulator.StepFinalizeVersion,
		emulator.StepProvision, emulator.StepUpload, emulator.StepFinalize,
	}
	if diff := cmp.Diff(want, steps(h.em)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, group := range []string{"::group::bundle machine version", "::group::bundle migration", "::group::finalize-version", "::group::finalize"} {
		if !strings.Contains(stdout, group) {
			t.Errorf("log lacks %q", group)
		}
	}
}

func TestReleaseWithoutMigration(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	releaseMode(h)
	h.env["INPUT_FROM-VERSION"] = ""
	h.env["INPUT_MIGRATION-FILE"] = ""
	if _, _, err := h.run(t); err != nil {
		t.Fatal(err)
	}
	if out := h.outputs(t); out["version-id"] == "" || out["migration-id"] != "" {
		t.Errorf("outputs = %v, want a version-id only", out)
	}
}

// TestReleaseMigrationFails checks that a version deployed before its
// migration failed is named in the error, and that no output is written.
// TestReleaseMigrationFails checks a release whose version is deployed and
// whose migration is not: exit code 3, the version's ID as an output (the
// API confirmed it), no migration ID, advice that fits the cause (a refusal
// must be fixed before a rerun; a failing service needs only the rerun) and
// the run's reuse-version, and a summary that says only what happened.
func TestReleaseMigrationFails(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		reuse  bool
		status int
		want   []string
		reject []string
	}{
		{"refused", false, 400, []string{"the API refused the migration, so a rerun as it is would fail the same way: fix what the error names first",
			"then run the job again with reuse-version: true: it finds version"}, nil},
		{"service failed, reuse-version set", true, 503, []string{"run the job again: with input reuse-version it finds version",
			`by its client info "0123abcd" and deploys only the migration`}, []string{"fix what the error names first", "reuse-version: true"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			releaseMode(h)
			h.env["GITHUB_SHA"] = "0123abcd"
			h.env["INPUT_RETRIES"] = "1"
			if tt.reuse {
				h.env["INPUT_REUSE-VERSION"] = "true"
			}
			h.em.FailNext(emulator.StepProvision, 1, tt.status, `{"error":"no","code":"invalid-parameter","parameter":"fromMachineVersionId"}`)
			_, _, err := h.run(t)
			vs := h.em.Versions()
			if err == nil || ExitCode(err) != 3 || len(vs) != 1 || !strings.Contains(err.Error(), "version "+vs[0].ID+" was deployed, but the migration to it was not") {
				t.Fatalf("err = %v (exit code %d, versions %+v)", err, ExitCode(err), vs)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("advice lacks %q:\n%v", w, err)
				}
			}
			for _, r := range tt.reject {
				if strings.Contains(err.Error(), r) {
					t.Errorf("advice says %q:\n%v", r, err)
				}
			}
			want := map[string]string{"version-id": vs[0].ID, "version-reused": "false"}
			if diff := cmp.Diff(want, h.outputs(t)); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			summary := readFile(t, h.summary)
			if !regexp.MustCompile("(?m)^\\| Bundle \\(machine version\\) \\| .* bytes uploaded;").MatchString(summary) ||
				regexp.MustCompile("(?m)^\\| Bundle \\(migration\\) \\| .* bytes uploaded;").MatchString(summary) {
				t.Errorf("the summary does not say that only the version was uploaded:\n%s", summary)
			}
		})
	}
}

func TestCreateMachine(t *testing.T) {
	t.Parallel()
	t.Run("missing machine is created", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		versionMode(h)
		h.env["INPUT_MACHINE"] = "toggle-pr-42"
		h.env["INPUT_CREATE-MACHINE"] = "true"
		h.env["INPUT_INDEXES"] = "owner, email"
		if _, _, err := h.run(t); err != nil {
			t.Fatal(err)
		}
		if got := h.em.MachineIndexes("toggle-pr-42"); !cmp.Equal(got, []string{"owner", "email"}) {
			t.Errorf("indexes = %v", got)
		}
		want := []emulator.Step{emulator.StepGetMachine, emulator.StepCreateMachine,
			emulator.StepProvisionVersion, emulator.StepUpload, emulator.StepFinalizeVersion}
		if diff := cmp.Diff(want, steps(h.em)); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
		if s := readFile(t, h.summary); !strings.Contains(s, "| Machine created | yes") {
			t.Errorf("summary:\n%s", s)
		}
	})
	t.Run("existing machine is kept", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		versionMode(h)
		h.env["INPUT_CREATE-MACHINE"] = "true"
		if _, _, err := h.run(t); err != nil {
			t.Fatal(err)
		}
		want := []emulator.Step{emulator.StepGetMachine, emulator.StepProvisionVersion, emulator.StepUpload, emulator.StepFinalizeVersion}
		if diff := cmp.Diff(want, steps(h.em)); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
		if s := readFile(t, h.summary); strings.Contains(s, "Machine created") {
			t.Errorf("the summary says the machine was created:\n%s", s)
		}
	})
	t.Run("created meanwhile (409) counts as existing", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		versionMode(h)
		h.env["INPUT_CREATE-MACHINE"] = "true"
		h.em.FailNext(emulator.StepGetMachine, 1, 404, `{"error":"machine not found","code":"not-found"}`)
		stdout, _, err := h.run(t)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		// The machine exists, so the create is refused with 409: that counts
		// as existing, and the version is deployed to it.
		want := []emulator.Step{emulator.StepGetMachine, emulator.StepCreateMachine,
			emulator.StepProvisionVersion, emulator.StepUpload, emulator.StepFinalizeVersion}
		if diff := cmp.Diff(want, steps(h.em)); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
		reqs := h.em.Requests()
		if len(reqs) != len(want) || reqs[1].Status != 409 {
			t.Fatalf("requests %+v: want the create answered 409", reqs)
		}
		if !strings.Contains(stdout, "machine: machine toggle exists") && !strings.Contains(stdout, "machine toggle exists") {
			t.Errorf("the log does not say the machine exists:\n%s", stdout)
		}
		if out := h.outputs(t); out["version-id"] == "" {
			t.Errorf("outputs = %v, want a version-id", out)
		}
	})
}

// TestKeyAuth deploys with a key instead of a token: the emulator checks the
// minted token as docs/api.md describes, with its own code.
func TestKeyAuth(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Config{Keys: map[string]string{testKeyID: testSecretKey}})
	h.env["INPUT_TOKEN"] = ""
	h.env["INPUT_KEY-ID"] = testKeyID
	h.env["INPUT_SECRET-KEY"] = testSecretKey
	h.env["GITHUB_REPOSITORY"] = "octo/app"
	stdout, _, err := h.run(t)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout)
	}
	reqs := h.em.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the emulator")
	}
	auth := reqs[0].Header.Get("Authorization")
	minted := strings.TrimPrefix(auth, "Bearer ")
	if strings.Count(minted, ".") != 2 {
		t.Fatalf("Authorization = %q, want a minted JWT", auth)
	}
	for _, secret := range []string{testSecretKey, minted} {
		if !strings.Contains(stdout, "::add-mask::"+secret+"\n") {
			t.Errorf("secret %.10s... was not masked", secret)
		}
	}
	if h.outputs(t)["migration-id"] == "" {
		t.Error("no migration-id")
	}
	// The token says which repository it acts for.
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(minted, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Act struct {
			Sub string `json:"sub"`
		} `json:"act"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Act.Sub != "octo/app" {
		t.Errorf("act.sub = %q (%v), want GITHUB_REPOSITORY octo/app", claims.Act.Sub, err)
	}
}

func TestKeyAuthWrongSecret(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Config{Keys: map[string]string{testKeyID: "sbsec_the_real_one"}})
	h.env["INPUT_TOKEN"] = ""
	h.env["INPUT_KEY-ID"] = testKeyID
	h.env["INPUT_SECRET-KEY"] = testSecretKey
	_, _, err := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Fatalf("err = %v, want 401", err)
	}
}
