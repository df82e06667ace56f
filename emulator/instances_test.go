package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"sbdeploy/emulator"
)

// rolloutConfig has door's instances on several versions, with a chain of
// migrations ver_1 -> ver_2 -> ver_3 and none to ver_4.
func rolloutConfig() emulator.Config {
	return emulator.Config{
		Machines:          map[string][]string{"door": {"ver_1", "ver_2", "ver_3", "ver_4"}, "lamp": {"ver_a"}, "bare": nil},
		Instances:         map[string][]string{"door": {"knob", "bulb", "hinge"}, "lamp": {"switch"}, "bare": {"ghost"}},
		InstanceVersions:  map[string]map[string]string{"door": {"knob": "ver_3"}},
		PausedInstances:   map[string][]string{"door": {"hinge"}},
		VersionClientInfo: map[string]string{"ver_3": "v3.0.0"},
		Migrations:        map[string][][2]string{"door": {{"ver_1", "ver_2"}, {"ver_2", "ver_3"}}},
	}
}

func TestListInstancesItems(t *testing.T) {
	t.Parallel()
	const seeded = `"createdAt":"2024-01-01T00:05:00.000Z"` // after door's four versions
	ver1 := `{"id":"ver_1","createdAt":"2024-01-01T00:01:00.000Z","clientInfo":""}`
	tests := []struct {
		name, machine, want string
	}{
		{name: "versions and statuses", machine: "door", want: `{"instances":[` +
			`{"slug":"bulb",` + seeded + `,"status":"running","machineVersion":` + ver1 + `},` +
			`{"slug":"hinge",` + seeded + `,"status":"paused","machineVersion":` + ver1 + `},` +
			`{"slug":"knob",` + seeded + `,"status":"running","machineVersion":{"id":"ver_3","createdAt":"2024-01-01T00:03:00.000Z","clientInfo":"v3.0.0"}}]}`},
		{name: "the machine's first version by default", machine: "lamp", want: `{"instances":[` +
			`{"slug":"switch","createdAt":"2024-01-01T00:02:00.000Z","status":"running","machineVersion":{"id":"ver_a","createdAt":"2024-01-01T00:01:00.000Z","clientInfo":""}}]}`},
		{name: "no version when the machine has none", machine: "bare", want: `{"instances":[` +
			`{"slug":"ghost","createdAt":"2024-01-01T00:01:00.000Z","status":"running"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newServer(t, rolloutConfig())
			r := mustSend(t, "GET", srv.URL+"/machines/"+tc.machine+"/i", apiHeader(), nil)
			if r.status != http.StatusOK {
				t.Fatalf("list = %d %s", r.status, r.body)
			}
			if diff := cmp.Diff(mustJSON(t, tc.want), mustJSON(t, string(r.body))); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
		})
	}
}

func target(id string) string { return fmt.Sprintf(`{"targetMachineVersionId":%q}`, id) }

// setVersion sends set-instance-version for an instance of door.
func setVersion(t *testing.T, base, instance, body string) response {
	t.Helper()
	return mustSend(t, "PUT", base+"/machines/door/i/"+instance+"/v", apiHeader(), []byte(body))
}

// deployMigration provisions and uploads a migration of door, and finalizes
// it if done.
func deployMigration(t *testing.T, base, from, to string, done bool) {
	t.Helper()
	body := fmt.Sprintf(`{"fromMachineVersionId":%q,"toMachineVersionId":%q}`, from, to)
	r := mustSend(t, "POST", base+"/machines/door/migrations", apiHeader(), []byte(body))
	var p provisioned
	if err := json.Unmarshal(r.body, &p); r.status != http.StatusOK || err != nil {
		t.Fatalf("provision = %d %s", r.status, r.body)
	}
	if r, err := upload(p.URL, uploadParts(p, false, []byte(code))); err != nil || r.status != http.StatusNoContent {
		t.Fatalf("upload = %d %s %v", r.status, r.body, err)
	}
	if !done {
		return
	}
	if r, err := finalize(base, p.ID); err != nil || r.status != http.StatusOK {
		t.Fatalf("finalize = %d %s %v", r.status, r.body, err)
	}
}

func TestSetInstanceVersion(t *testing.T) {
	t.Parallel()
	noPath := apiErr{400, "no-migration-path", ""}
	tests := []struct {
		name     string
		instance string
		before   func(t *testing.T, base string)
		target   string
		want     apiErr
		desired  string // of the instance afterwards; "" for none
	}{
		{name: "its own version", instance: "bulb", target: "ver_1", want: apiErr{Status: 201}, desired: "ver_1"},
		{name: "one migration on", instance: "bulb", target: "ver_2", want: apiErr{Status: 201}, desired: "ver_2"},
		{name: "a chain of two", instance: "bulb", target: "ver_3", want: apiErr{Status: 201}, desired: "ver_3"},
		{name: "a paused instance", instance: "hinge", target: "ver_2", want: apiErr{Status: 201}, desired: "ver_2"},
		{name: "no migration to it", instance: "bulb", target: "ver_4", want: noPath},
		{name: "from the instance's version, not the first", instance: "knob", target: "ver_2", want: noPath},
		{name: "migrations lead one way", instance: "knob", target: "ver_1", want: noPath},
		{name: "a migration finalized through the API", instance: "knob", target: "ver_4", want: apiErr{Status: 201}, desired: "ver_4",
			before: func(t *testing.T, base string) { deployMigration(t, base, "ver_3", "ver_4", true) }},
		{name: "a chain through a migration finalized through the API", instance: "bulb", target: "ver_4", want: apiErr{Status: 201}, desired: "ver_4",
			before: func(t *testing.T, base string) { deployMigration(t, base, "ver_3", "ver_4", true) }},
		{name: "a migration uploaded, not finalized", instance: "knob", target: "ver_4", want: noPath,
			before: func(t *testing.T, base string) { deployMigration(t, base, "ver_3", "ver_4", false) }},
		{name: "a later set replaces the earlier", instance: "bulb", target: "ver_3", want: apiErr{Status: 201}, desired: "ver_3",
			before: func(t *testing.T, base string) { setVersion(t, base, "bulb", target("ver_2")) }},
		{name: "a refused set keeps the earlier", instance: "bulb", target: "ver_4", want: noPath, desired: "ver_2",
			before: func(t *testing.T, base string) { setVersion(t, base, "bulb", target("ver_2")) }},
		{name: "the path is from the version it runs, not the one set", instance: "bulb", target: "ver_1", want: apiErr{Status: 201}, desired: "ver_1",
			before: func(t *testing.T, base string) { setVersion(t, base, "bulb", target("ver_3")) }},
		{name: "a version of another machine", instance: "bulb", target: "ver_a", want: invalid("targetMachineVersionId")},
		{name: "an unknown version", instance: "bulb", target: "ver_9", want: invalid("targetMachineVersionId")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, rolloutConfig())
			if tc.before != nil {
				tc.before(t, srv.URL)
			}
			listing := mustSend(t, "GET", srv.URL+"/machines/door/i", apiHeader(), nil)
			r := setVersion(t, srv.URL, tc.instance, target(tc.target))
			if diff := cmp.Diff(tc.want, answerOf(t, r)); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
			got, ok := em.DesiredVersion("door", tc.instance)
			if got != tc.desired || ok != (tc.desired != "") {
				t.Errorf("DesiredVersion = %q, %t; want %q", got, ok, tc.desired)
			}
			if after := mustSend(t, "GET", srv.URL+"/machines/door/i", apiHeader(), nil); string(after.body) != string(listing.body) {
				t.Errorf("the listing changed from\n%s to\n%s; want each instance on the version it runs", listing.body, after.body)
			}
		})
	}
}

// or returns s, or def if s is "".
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// answerOf decodes an API answer: the error, or a 201 with no body.
func answerOf(t *testing.T, r response) apiErr {
	t.Helper()
	if r.status == http.StatusCreated {
		if len(r.body) != 0 {
			t.Errorf("201 with body %q, want none", r.body)
		}
		return apiErr{Status: r.status}
	}
	got, msg := decodeErr(t, r)
	if msg == "" {
		t.Errorf("error %s has no text", r.body)
	}
	return got
}

func TestSetInstanceVersionRejections(t *testing.T) {
	t.Parallel()
	ciScopes := []string{"machines.read", "machines.write", "machine-versions.read", "machine-versions.write"}
	tests := []struct {
		name     string
		cfg      emulator.Config // over rolloutConfig's Scopes and Orgs
		path     string          // "" means /machines/door/i/bulb/v
		header   http.Header     // nil means apiHeader()
		body     string          // "" means target("ver_2")
		want     apiErr
		wantText string
	}{
		{name: "with instances.write", cfg: emulator.Config{Scopes: []string{"instances.write"}}, want: apiErr{Status: 201}},
		{name: "a CI key lacks instances.write", cfg: emulator.Config{Scopes: ciScopes}, want: apiErr{403, "missing-scope", ""}, wantText: "instances.write"},
		{name: "instances.read is not instances.write", cfg: emulator.Config{Scopes: []string{"instances.read", "machine-versions.write"}}, want: apiErr{403, "missing-scope", ""}, wantText: "instances.write"},
		{name: "no token", header: apiHeader("Authorization", ""), want: apiErr{401, "unauthorized", ""}},
		{name: "several orgs, none named", cfg: emulator.Config{Orgs: []string{"org_a", "org_b"}}, want: apiErr{400, "specify-org", ""}},
		{name: "unknown machine", path: "/machines/fridge/i/bulb/v", want: apiErr{404, "not-found", ""}, wantText: "machine not found"},
		{name: "unknown instance", path: "/machines/door/i/latch/v", want: apiErr{404, "not-found", ""}, wantText: "instance not found"},
		{name: "unknown instance, bad body", path: "/machines/door/i/latch/v", body: "{}", want: invalid("targetMachineVersionId")},
		{name: "machine slug with a dot", path: "/machines/do.or/i/bulb/v", want: invalid("machineSlug")},
		{name: "instance slug with a dot", path: "/machines/door/i/bu.lb/v", want: invalid("instanceSlug")},
		{name: "instance slug of 129 characters", path: "/machines/door/i/" + strings.Repeat("b", 129) + "/v", want: invalid("instanceSlug")},
		{name: "not JSON content type", header: apiHeader("Content-Type", "text/plain"), want: invalid("")},
		{name: "no body", body: " ", want: invalid("")},
		{name: "body not an object", body: `["ver_2"]`, want: invalid("")},
		{name: "empty object", body: `{}`, want: invalid("targetMachineVersionId")},
		{name: "an extra key", body: `{"targetMachineVersionId":"ver_2","force":true}`, want: invalid("force")},
		{name: "the CLI's other name", body: `{"machineVersionId":"ver_2"}`, want: invalid("machineVersionId")},
		{name: "target a number", body: `{"targetMachineVersionId":2}`, want: invalid("targetMachineVersionId")},
		{name: "target null", body: `{"targetMachineVersionId":null}`, want: invalid("targetMachineVersionId")},
		{name: "target empty", body: target(""), want: invalid("targetMachineVersionId"), wantText: "non-empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := rolloutConfig()
			cfg.Scopes, cfg.Orgs = tc.cfg.Scopes, tc.cfg.Orgs
			em, srv := newServer(t, cfg)
			header := tc.header
			if header == nil {
				header = apiHeader()
			}
			r := mustSend(t, "PUT", srv.URL+or(tc.path, "/machines/door/i/bulb/v"), header, []byte(or(tc.body, target("ver_2"))))
			if diff := cmp.Diff(tc.want, answerOf(t, r)); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
			if !strings.Contains(string(r.body), tc.wantText) {
				t.Errorf("answer %s, want text containing %q", r.body, tc.wantText)
			}
			if got, ok := em.DesiredVersion("door", "bulb"); ok != (r.status == 201) {
				t.Errorf("DesiredVersion = %q, %t after a %d", got, ok, r.status)
			}
		})
	}
}

func TestDesiredVersion(t *testing.T) {
	t.Parallel()
	em, srv := newServer(t, rolloutConfig())
	for _, inst := range []string{"bulb", "hinge"} {
		if r := setVersion(t, srv.URL, inst, target("ver_2")); r.status != http.StatusCreated {
			t.Fatalf("set %s = %d %s", inst, r.status, r.body)
		}
	}
	if r := deleteInstance(t, srv.URL, "door", "hinge"); r.status != http.StatusNoContent {
		t.Fatalf("delete hinge = %d %s", r.status, r.body)
	}
	tests := []struct {
		name, machine, instance string
		want                    string
		ok                      bool
	}{
		{name: "set", machine: "door", instance: "bulb", want: "ver_2", ok: true},
		{name: "never set", machine: "door", instance: "knob"},
		{name: "deleted after it was set", machine: "door", instance: "hinge"},
		{name: "unknown instance", machine: "door", instance: "latch"},
		{name: "unknown machine", machine: "fridge", instance: "bulb"},
		{name: "another machine's instance of that name", machine: "lamp", instance: "bulb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := em.DesiredVersion(tc.machine, tc.instance)
			if got != tc.want || ok != tc.ok {
				t.Errorf("DesiredVersion(%q, %q) = %q, %t; want %q, %t", tc.machine, tc.instance, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestListManyInstances pages through many instances seeded with
// Config.Instances alone, as `sbdeploy emulator --instances` seeds them:
// each is listed once, in slug order, on its machine's first version.
func TestListManyInstances(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		n         int
		pageSize  int // 0 means the default, 100
		wantPages int
	}{
		{name: "ten thousand in pages of 100", n: 10_000, wantPages: 100},
		{name: "a last page of one", n: 1_001, pageSize: 250, wantPages: 5},
		{name: "none", n: 0, wantPages: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := make([]string, tc.n)
			for i := range want {
				want[i] = fmt.Sprintf("inst-%06d", i+1)
			}
			_, srv := newServer(t, emulator.Config{PageSize: tc.pageSize,
				Machines: map[string][]string{"door": {"ver_1", "ver_2"}}, Instances: map[string][]string{"door": want}})
			var got []string
			versions := map[string]int{}
			pages, query := 0, ""
			for ; pages <= tc.wantPages; pages++ {
				r := mustSend(t, "GET", srv.URL+"/machines/door/i"+query, apiHeader(), nil)
				var page struct {
					Instances []struct {
						Slug           string
						MachineVersion struct{ ID string }
					}
					Cursor *string
				}
				if err := json.Unmarshal(r.body, &page); r.status != http.StatusOK || err != nil {
					t.Fatalf("page %d = %d %.200s (%v)", pages, r.status, r.body, err)
				}
				for _, in := range page.Instances {
					got = append(got, in.Slug)
					versions[in.MachineVersion.ID]++
				}
				if page.Cursor == nil {
					break
				}
				query = "?cursor=" + *page.Cursor
			}
			if pages+1 != tc.wantPages {
				t.Errorf("%d pages, want %d", pages+1, tc.wantPages)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("instances listed mismatch (-want +got):\n%s", diff)
			}
			wantVersions := map[string]int{"ver_1": tc.n}
			if tc.n == 0 {
				wantVersions = map[string]int{}
			}
			if diff := cmp.Diff(wantVersions, versions); diff != "" {
				t.Errorf("instances by version mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
