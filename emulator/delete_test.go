package emulator_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

const (
	machineMAC  = "hmacSha256OfMachineNameWithMachineNameKey"
	instanceMAC = "hmacSha256OfMachineInstanceNameWithMachineNameKey"
)

// longSlug is a slug of the maximum length, 128 characters.
var longSlug = strings.Repeat("Ab9_-", 25) + "xyz"

// macOf returns base64url, unpadded, of HMAC-SHA256(key = machine, message =
// name). TestDeleteHMAC pins it to vectors computed with openssl.
func macOf(machine, name string) string {
	mac := hmac.New(sha256.New, []byte(machine))
	mac.Write([]byte(name))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// must returns v, panicking on err: for test inputs that cannot fail.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func machineBody(mac string) string {
	return fmt.Sprintf(`{"dangerDataWillBeDeletedForever":true,%q:%q}`, machineMAC, mac)
}

func instanceBody(mac string) string {
	return fmt.Sprintf(`{"dangerDataWillBeDeletedForever":true,%q:%q}`, instanceMAC, mac)
}

func deleteInstance(t *testing.T, base, machine, instance string) response {
	t.Helper()
	return mustSend(t, "DELETE", base+"/machines/"+machine+"/i/"+instance, apiHeader(), []byte(instanceBody(macOf(machine, instance))))
}

// decodeErr decodes an API error answer, or checks that a 2xx answer is
// empty (204) or JSON (200).
func decodeErr(t *testing.T, r response) (apiErr, string) {
	t.Helper()
	got := apiErr{Status: r.status}
	if r.status == http.StatusNoContent {
		if len(r.body) != 0 {
			t.Errorf("204 with body %q, want none", r.body)
		}
		return got, ""
	}
	var msg struct{ Error string }
	if err := json.Unmarshal(r.body, &got); err != nil || json.Unmarshal(r.body, &msg) != nil {
		t.Fatalf("answer %q is not JSON: %v", r.body, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type = %q, want application/json", ct)
	}
	return got, msg.Error
}

func TestDeleteHMAC(t *testing.T) {
	t.Parallel()
	// The MACs were computed with openssl, not Go, so that the emulator and
	// these tests cannot share a misreading of the algorithm:
	//
	//	printf %s "$NAME" | openssl dgst -sha256 -hmac "$MACHINE" -binary | basenc --base64url | tr -d '='
	//
	// NAME is the machine's name for a machine, the instance's for an instance;
	// longSlug is $(for i in $(seq 25); do printf %s 'Ab9_-'; done; printf xyz).
	tests := []struct {
		name     string
		machine  string
		instance string // "" deletes the machine
		mac      string
	}{
		{name: "machine toggle", machine: "toggle", mac: "n7g_QFPsQI8IZZxTIcNvuLo6HTHCd3Ifi9-AqtDaUuw"},
		{name: "machine my-machine_2", machine: "my-machine_2", mac: "WsqPqv93JPhIacuUII7dGoGktzLV3OyCQ_c8oRwfR0M"},
		{name: "machine of 128 characters", machine: longSlug, mac: "b_wVWJk7h-bua4VwlW5RaTH1cDGpYubN04ubli4i9ao"},
		{name: "instance user-123 of toggle", machine: "toggle", instance: "user-123", mac: "6Pe89jFe8FhlZpTxavbDsA_yuywgr3Yggf4EUxVrflo"},
		{name: "instance user-123 of my-machine_2", machine: "my-machine_2", instance: "user-123", mac: "1l2OSRAp_n56GoAHKYqYk3a5vgWNjrMHL1cggcDUzHo"},
		{name: "instance of 128 characters of toggle", machine: "toggle", instance: longSlug, mac: "SKg9zc4zP7hCNJtFaxlyabWJkvO-yGDhYgo_hHjHWuI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := tc.instance
			if name == "" {
				name = tc.machine
			}
			if got := macOf(tc.machine, name); got != tc.mac {
				t.Errorf("test helper macOf = %s, want the openssl vector %s", got, tc.mac)
			}
			cfg := emulator.Config{Machines: map[string][]string{"toggle": nil, "my-machine_2": nil, longSlug: nil}}
			path, param, body := "/machines/"+tc.machine, machineMAC, machineBody
			if tc.instance != "" {
				cfg.Instances = map[string][]string{tc.machine: {tc.instance, "other"}}
				path, param, body = path+"/i/"+tc.instance, instanceMAC, instanceBody
			}
			em, srv := newServer(t, cfg)
			before := em.Instances(tc.machine)
			wrong := "A" + tc.mac[1:]
			if tc.mac[0] == 'A' {
				wrong = "B" + tc.mac[1:]
			}

			got, _ := decodeErr(t, mustSend(t, "DELETE", srv.URL+path, apiHeader(), []byte(body(wrong))))
			if diff := cmp.Diff(apiErr{400, "invalid-parameter", param}, got); diff != "" {
				t.Errorf("delete with %s mismatch (-want +got):\n%s", wrong, diff)
			}
			if diff := cmp.Diff(before, em.Instances(tc.machine)); diff != "" || !em.HasMachine(tc.machine) {
				t.Errorf("a rejected delete changed the state (HasMachine %t; -before +after):\n%s", em.HasMachine(tc.machine), diff)
			}

			got, _ = decodeErr(t, mustSend(t, "DELETE", srv.URL+path, apiHeader(), []byte(body(tc.mac))))
			if diff := cmp.Diff(apiErr{Status: 204}, got); diff != "" {
				t.Errorf("delete with %s mismatch (-want +got):\n%s", tc.mac, diff)
			}
			var want []string // nil: the machine is gone
			if tc.instance != "" {
				want = []string{"other"}
			}
			if diff := cmp.Diff(want, em.Instances(tc.machine)); diff != "" || em.HasMachine(tc.machine) != (tc.instance != "") {
				t.Errorf("after the delete, HasMachine %t and Instances mismatch (-want +got):\n%s", em.HasMachine(tc.machine), diff)
			}
		})
	}
}

func TestDeleteRejections(t *testing.T) {
	t.Parallel()
	twoOrgs := emulator.Config{Orgs: []string{"org_a", "org_b"}}
	ciScopes := []string{"machines.read", "machines.write", "machine-versions.read", "machine-versions.write"}
	badParam := func(param string) apiErr { return apiErr{400, "invalid-parameter", param} }
	doorMAC := macOf("door", "door")
	bulb := instanceBody(macOf("lamp", "bulb"))
	field := func(k, v string) string { return fmt.Sprintf(`{"dangerDataWillBeDeletedForever":true,%q:%s}`, k, v) }
	danger := func(v string) string {
		return fmt.Sprintf(`{"dangerDataWillBeDeletedForever":%s,%q:%q}`, v, machineMAC, doorMAC)
	}
	tests := []struct {
		name     string
		cfg      emulator.Config
		method   string      // "" means DELETE, with body machineBody(doorMAC) when body is ""
		path     string      // "" means /machines/door
		header   http.Header // nil means apiHeader()
		body     string
		want     apiErr
		wantText string
	}{
		// DELETE /machines/{slug}
		{name: "machine deleted", want: apiErr{Status: 204}},
		{name: "no token", header: apiHeader("Authorization", ""), want: apiErr{401, "unauthorized", ""}},
		{name: "wrong token", header: apiHeader("Authorization", "Bearer tok_other"), want: apiErr{401, "unauthorized", ""}},
		{name: "several orgs, none named", cfg: twoOrgs, want: apiErr{400, "specify-org", ""}},
		{name: "several orgs, one named", cfg: twoOrgs, header: apiHeader("x-statebacked-org-id", "org_a"), want: apiErr{Status: 204}},
		{name: "org not the user's", cfg: emulator.Config{Orgs: []string{"org_a"}}, header: apiHeader("x-statebacked-org-id", "org_z"), want: apiErr{403, "missing-org", ""}},
		{name: "machines.admin present", cfg: emulator.Config{Scopes: []string{"machines.admin"}}, want: apiErr{Status: 204}},
		{name: "CI key lacks machines.admin", cfg: emulator.Config{Scopes: ciScopes}, want: apiErr{403, "missing-scope", ""}, wantText: "machines.admin"},
		{name: "instances.admin is not machines.admin", cfg: emulator.Config{Scopes: []string{"instances.admin"}}, want: apiErr{403, "missing-scope", ""}, wantText: "machines.admin"},
		{name: "machine slug with a dot", path: "/machines/do.or", want: badParam("machineSlug")},
		{name: "machine slug of 129 characters", path: "/machines/" + strings.Repeat("a", 129), want: badParam("machineSlug")},
		{name: "machine slug empty", path: "/machines/", want: badParam("machineSlug")},
		{name: "unknown machine", path: "/machines/fridge", body: machineBody(macOf("fridge", "fridge")), want: apiErr{404, "not-found", ""}, wantText: "machine not found"},
		{name: "instances exist", path: "/machines/lamp", body: machineBody(macOf("lamp", "lamp")), want: apiErr{409, "invalid-state", ""}, wantText: "instances exist"},
		{name: "instances exist, wrong MAC", path: "/machines/lamp", body: machineBody(doorMAC), want: badParam(machineMAC)},
		{name: "not JSON content type", header: apiHeader("Content-Type", "text/plain"), want: badParam("")},
		{name: "no body", method: "DELETE", want: badParam("")},
		{name: "body not an object", body: `[true]`, want: badParam("")},
		{name: "danger missing", body: fmt.Sprintf(`{%q:%q}`, machineMAC, doorMAC), want: badParam("dangerDataWillBeDeletedForever")},
		{name: "danger false", body: danger("false"), want: badParam("dangerDataWillBeDeletedForever")},
		{name: "danger a string", body: danger(`"true"`), want: badParam("dangerDataWillBeDeletedForever")},
		{name: "danger a number", body: danger("1"), want: badParam("dangerDataWillBeDeletedForever")},
		{name: "danger null", body: danger("null"), want: badParam("dangerDataWillBeDeletedForever")},
		{name: "MAC missing", body: `{"dangerDataWillBeDeletedForever":true}`, want: badParam(machineMAC)},
		{name: "MAC of another machine", body: machineBody(macOf("lamp", "lamp")), want: badParam(machineMAC), wantText: "HMAC-SHA256"},
		{name: "MAC padded", body: machineBody(doorMAC + "="), want: badParam(machineMAC)},
		{name: "MAC in hex", body: machineBody(fmt.Sprintf("%x", must(base64.RawURLEncoding.DecodeString(doorMAC)))), want: badParam(machineMAC)},
		{name: "MAC not a string", body: field(machineMAC, "42"), want: badParam(machineMAC)},
		{name: "MAC under the instance property", body: field(instanceMAC, fmt.Sprintf("%q", doorMAC)), want: badParam(instanceMAC), wantText: "unexpected property"},
		{name: "extra property", body: `{"dangerDataWillBeDeletedForever":true,"force":true}`, want: badParam("force")},
		{name: "PUT on a machine", method: "PUT", want: apiErr{405, "method-not-allowed", ""}},

		// GET /machines/{slug}/i
		{name: "list", method: "GET", path: "/machines/lamp/i", want: apiErr{Status: 200}},
		{name: "list with instances.read", cfg: emulator.Config{Scopes: []string{"instances.read"}}, method: "GET", path: "/machines/lamp/i", want: apiErr{Status: 200}},
		{name: "list without instances.read", cfg: emulator.Config{Scopes: []string{"instances.admin", "machines.read"}}, method: "GET", path: "/machines/lamp/i", want: apiErr{403, "missing-scope", ""}, wantText: "instances.read"},
		{name: "list, no token", method: "GET", path: "/machines/lamp/i", header: apiHeader("Authorization", ""), want: apiErr{401, "unauthorized", ""}},
		{name: "list, several orgs, none named", cfg: twoOrgs, method: "GET", path: "/machines/lamp/i", want: apiErr{400, "specify-org", ""}},
		{name: "list, org not the user's", cfg: emulator.Config{Orgs: []string{"org_a"}}, method: "GET", path: "/machines/lamp/i", header: apiHeader("x-statebacked-org-id", "org_z"), want: apiErr{403, "missing-org", ""}},
		{name: "list, machine slug with a dot", method: "GET", path: "/machines/la.mp/i", want: badParam("machineSlug")},
		{name: "list, unknown machine", method: "GET", path: "/machines/fridge/i", want: apiErr{404, "not-found", ""}, wantText: "machine not found"},
		{name: "cursor not base64url", method: "GET", path: "/machines/lamp/i?cursor=%21%21%21", want: badParam("cursor")},
		{name: "cursor padded", method: "GET", path: "/machines/lamp/i?cursor=YnVsYg%3D%3D", want: badParam("cursor")},
		{name: "cursor empty", method: "GET", path: "/machines/lamp/i?cursor=", want: badParam("cursor")},
		{name: "cursor decoding to no slug", method: "GET", path: "/machines/lamp/i?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("../x")), want: badParam("cursor")},
		{name: "POST on instances", method: "POST", path: "/machines/lamp/i", body: "{}", want: apiErr{405, "method-not-allowed", ""}},

		// DELETE /machines/{slug}/i/{instanceSlug}
		{name: "instance deleted", method: "DELETE", path: "/machines/lamp/i/bulb", body: bulb, want: apiErr{Status: 204}},
		{name: "instance, instances.admin present", cfg: emulator.Config{Scopes: []string{"instances.admin"}}, method: "DELETE", path: "/machines/lamp/i/bulb", body: bulb, want: apiErr{Status: 204}},
		{name: "instance, scope missing", cfg: emulator.Config{Scopes: []string{"instances.read", "machines.admin"}}, method: "DELETE", path: "/machines/lamp/i/bulb", body: bulb, want: apiErr{403, "missing-scope", ""}, wantText: "instances.admin"},
		{name: "instance, no token", method: "DELETE", path: "/machines/lamp/i/bulb", body: bulb, header: apiHeader("Authorization", "Bearer tok_other"), want: apiErr{401, "unauthorized", ""}},
		{name: "instance, several orgs, none named", cfg: twoOrgs, method: "DELETE", path: "/machines/lamp/i/bulb", body: bulb, want: apiErr{400, "specify-org", ""}},
		{name: "instance, org not the user's", cfg: emulator.Config{Orgs: []string{"org_a"}}, method: "DELETE", path: "/machines/lamp/i/bulb", body: bulb, header: apiHeader("x-statebacked-org-id", "org_z"), want: apiErr{403, "missing-org", ""}},
		{name: "instance, machine slug with a dot", method: "DELETE", path: "/machines/la.mp/i/bulb", body: bulb, want: badParam("machineSlug")},
		{name: "instance slug with a dot", method: "DELETE", path: "/machines/lamp/i/bu.lb", body: bulb, want: badParam("instanceSlug")},
		{name: "instance slug of 129 characters", method: "DELETE", path: "/machines/lamp/i/" + strings.Repeat("b", 129), body: bulb, want: badParam("instanceSlug")},
		{name: "instance slug empty", method: "DELETE", path: "/machines/lamp/i/", body: bulb, want: badParam("instanceSlug")},
		{name: "instance of an unknown machine", method: "DELETE", path: "/machines/fridge/i/bulb", body: instanceBody(macOf("fridge", "bulb")), want: apiErr{404, "not-found", ""}, wantText: "machine not found"},
		{name: "unknown instance", method: "DELETE", path: "/machines/lamp/i/plug", body: instanceBody(macOf("lamp", "plug")), want: apiErr{404, "not-found", ""}, wantText: "instance not found"},
		{name: "unknown instance, wrong MAC", method: "DELETE", path: "/machines/lamp/i/plug", body: bulb, want: badParam(instanceMAC)},
		{name: "instance, no body", method: "DELETE", path: "/machines/lamp/i/bulb", want: badParam("")},
		{name: "instance, danger missing", method: "DELETE", path: "/machines/lamp/i/bulb", body: fmt.Sprintf(`{%q:%q}`, instanceMAC, macOf("lamp", "bulb")), want: badParam("dangerDataWillBeDeletedForever")},
		{name: "instance, danger false", method: "DELETE", path: "/machines/lamp/i/bulb", body: strings.Replace(bulb, "true", "false", 1), want: badParam("dangerDataWillBeDeletedForever")},
		{name: "instance, MAC missing", method: "DELETE", path: "/machines/lamp/i/bulb", body: `{"dangerDataWillBeDeletedForever":true}`, want: badParam(instanceMAC)},
		{name: "instance, MAC of another instance", method: "DELETE", path: "/machines/lamp/i/bulb", body: instanceBody(macOf("lamp", "switch")), want: badParam(instanceMAC)},
		{name: "instance, MAC keyed with the instance", method: "DELETE", path: "/machines/lamp/i/bulb", body: instanceBody(macOf("bulb", "lamp")), want: badParam(instanceMAC)},
		{name: "instance, MAC of the machine name", method: "DELETE", path: "/machines/lamp/i/bulb", body: instanceBody(macOf("lamp", "lamp")), want: badParam(instanceMAC)},
		{name: "instance, MAC under the machine property", method: "DELETE", path: "/machines/lamp/i/bulb", body: machineBody(macOf("lamp", "bulb")), want: badParam(machineMAC), wantText: "unexpected property"},
		{name: "PUT on an instance", method: "PUT", path: "/machines/lamp/i/bulb", body: bulb, want: apiErr{405, "method-not-allowed", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.Instances = map[string][]string{"lamp": {"bulb", "switch"}}
			em, srv := newServer(t, tc.cfg)
			method, path, header, body := tc.method, tc.path, tc.header, tc.body
			if method == "" && body == "" {
				body = machineBody(doorMAC)
			}
			if method == "" {
				method = "DELETE"
			}
			if path == "" {
				path = "/machines/door"
			}
			if header == nil {
				header = apiHeader()
			}
			state := func() []any {
				return []any{em.HasMachine("door"), em.HasMachine("lamp"), em.Instances("door"), em.Instances("lamp")}
			}
			before := state()

			r := mustSend(t, method, srv.URL+path, header, []byte(body))
			got, msg := decodeErr(t, r)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
			if !strings.Contains(msg, tc.wantText) || (r.status >= 400 && msg == "") {
				t.Errorf("error text %q, want one containing %q", msg, tc.wantText)
			}
			if reqs := em.Requests(); reqs[len(reqs)-1].Status != r.status {
				t.Errorf("recorded status %d, answered %d", reqs[len(reqs)-1].Status, r.status)
			}
			if diff := cmp.Diff(before, state()); r.status != 204 && diff != "" {
				t.Errorf("a rejected request changed the state (-before +after):\n%s", diff)
			}
		})
	}
}

func TestDeleteMachineWithInstances(t *testing.T) {
	t.Parallel()
	em, srv := newServer(t, emulator.Config{Instances: map[string][]string{"lamp": {"switch", "bulb"}}})
	lamp := machineBody(macOf("lamp", "lamp"))
	steps := []struct {
		step      emulator.Step
		method    string
		path      string
		body      string
		want      int
		wantBody  string   // compared when not ""
		instances []string // of lamp after the step; nil once it is deleted
	}{
		{emulator.StepDeleteMachine, "DELETE", "/machines/lamp", lamp, 409, "", []string{"bulb", "switch"}},
		{emulator.StepDeleteInstance, "DELETE", "/machines/lamp/i/bulb", instanceBody(macOf("lamp", "bulb")), 204, "", []string{"switch"}},
		{emulator.StepDeleteMachine, "DELETE", "/machines/lamp", lamp, 409, "", []string{"switch"}},
		{emulator.StepDeleteInstance, "DELETE", "/machines/lamp/i/switch", instanceBody(macOf("lamp", "switch")), 204, "", []string{}},
		{emulator.StepDeleteInstance, "DELETE", "/machines/lamp/i/switch", instanceBody(macOf("lamp", "switch")), 404,
			`{"error":"instance not found","code":"not-found"}`, []string{}},
		{emulator.StepListInstances, "GET", "/machines/lamp/i", "", 200, `{"instances":[]}`, []string{}},
		{emulator.StepDeleteMachine, "DELETE", "/machines/lamp", lamp, 204, "", nil},
		{emulator.StepDeleteMachine, "DELETE", "/machines/lamp", lamp, 404, `{"error":"machine not found","code":"not-found"}`, nil},
		{emulator.StepListInstances, "GET", "/machines/lamp/i", "", 404, "", nil},
		{emulator.StepDeleteInstance, "DELETE", "/machines/lamp/i/bulb", instanceBody(macOf("lamp", "bulb")), 404, "", nil},
		{emulator.StepProvision, "POST", "/machines/lamp/migrations", `{"fromMachineVersionId":"ver_a","toMachineVersionId":"ver_b"}`, 404, "", nil},
		{emulator.StepProvision, "POST", "/machines/door/migrations", provisionBody, 200, "", nil},
	}
	var want []recorded
	for i, s := range steps {
		r := mustSend(t, s.method, srv.URL+s.path, apiHeader(), []byte(s.body))
		if r.status != s.want || (s.wantBody != "" && strings.TrimSpace(string(r.body)) != s.wantBody) {
			t.Fatalf("step %d, %s %s = %d %s, want %d %s", i, s.method, s.path, r.status, r.body, s.want, s.wantBody)
		}
		if diff := cmp.Diff(s.instances, em.Instances("lamp")); diff != "" || em.HasMachine("lamp") != (s.instances != nil) {
			t.Errorf("step %d: HasMachine(lamp) = %t, Instances(lamp) mismatch (-want +got):\n%s", i, em.HasMachine("lamp"), diff)
		}
		want = append(want, recorded{s.step, s.method, s.want})
	}
	if diff := cmp.Diff(want, summarize(em.Requests())); diff != "" {
		t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
	}
	if !em.HasMachine("door") {
		t.Error("deleting lamp deleted door")
	}
}

// slugs returns n instance slugs, in sorted order.
func slugs(n int) []string {
	out := []string{}
	for i := range n {
		out = append(out, fmt.Sprintf("inst-%03d", i+1))
	}
	return out
}

// listPages lists door's instances page by page, calling between after the
// first page, and returns the slugs of each page.
func listPages(t *testing.T, base string, between func()) [][]string {
	t.Helper()
	return pagesOf(t, base+"/machines/door/i", "instances", "slug", between)
}

// pagesOf lists url page by page, calling between after the first page,
// and returns, for each page, the key of every item of its member array.
func pagesOf(t *testing.T, url, member, key string, between func()) [][]string {
	t.Helper()
	var pages [][]string
	query := ""
	for i := 0; ; i++ {
		if i > 200 {
			t.Fatal("no last page after 200 pages")
		}
		r := mustSend(t, "GET", url+query, apiHeader(), nil)
		var page map[string]json.RawMessage
		var items []map[string]json.RawMessage
		var cursor *string
		if err := json.Unmarshal(r.body, &page); r.status != 200 || err != nil {
			t.Fatalf("page %d = %d %s (%v)", i, r.status, r.body, err)
		}
		if json.Unmarshal(page[member], &items) != nil || items == nil || json.Unmarshal(page["cursor"], &cursor) != nil && page["cursor"] != nil ||
			cursor != nil && *cursor == "" {
			t.Fatalf("page %d = %s, want a %s array and, if any, a non-empty cursor", i, r.body, member)
		}
		keys := []string{}
		for _, item := range items {
			var k string
			_ = json.Unmarshal(item[key], &k)
			keys = append(keys, k)
		}
		pages = append(pages, keys)
		if i == 0 && between != nil {
			between()
		}
		if cursor == nil {
			return pages
		}
		query = "?cursor=" + neturl.QueryEscape(*cursor)
	}
}

func TestListInstances(t *testing.T) {
	t.Parallel()
	seven := slugs(7)
	hundredOne := slugs(101)
	tests := []struct {
		name     string
		n        int
		pageSize int
		deletes  []string // deleted after the first page
		want     [][]string
	}{
		{name: "no instances", n: 0, pageSize: 3, want: [][]string{{}}},
		{name: "less than a page", n: 2, pageSize: 3, want: [][]string{slugs(2)}},
		{name: "exactly a page", n: 3, pageSize: 3, want: [][]string{slugs(3)}},
		{name: "seven in pages of three", n: 7, pageSize: 3, want: [][]string{seven[:3], seven[3:6], seven[6:]}},
		{name: "six in pages of three", n: 6, pageSize: 3, want: [][]string{seven[:3], seven[3:6]}},
		{name: "pages of one", n: 3, pageSize: 1, want: [][]string{seven[:1], seven[1:2], seven[2:3]}},
		{name: "page size 0 means 100", n: 101, pageSize: 0, want: [][]string{hundredOne[:100], hundredOne[100:]}},
		{name: "deleting the last slug returned", n: 7, pageSize: 3, deletes: seven[2:3], want: [][]string{seven[:3], seven[3:6], seven[6:]}},
		{name: "deleting slugs already returned", n: 7, pageSize: 3, deletes: seven[:2], want: [][]string{seven[:3], seven[3:6], seven[6:]}},
		{name: "deleting the next slug", n: 7, pageSize: 3, deletes: seven[3:4], want: [][]string{seven[:3], seven[4:7]}},
		{name: "deleting all the rest", n: 7, pageSize: 3, deletes: seven[3:], want: [][]string{seven[:3], {}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			all := slugs(tc.n)
			shuffled := append(slices.Clone(all[tc.n/2:]), all[:tc.n/2]...) // the config's order is not the listing's
			em, srv := newServer(t, emulator.Config{PageSize: tc.pageSize, Instances: map[string][]string{"door": shuffled}})
			got := listPages(t, srv.URL, func() {
				for _, s := range tc.deletes {
					if r := deleteInstance(t, srv.URL, "door", s); r.status != 204 {
						t.Fatalf("delete %s = %d %s", s, r.status, r.body)
					}
				}
			})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pages mismatch (-want +got):\n%s", diff)
			}
			for _, r := range em.Requests() {
				if r.Method == "GET" && (r.Step != emulator.StepListInstances || r.Status != 200) {
					t.Errorf("recorded %s %s as step %q, status %d", r.Method, r.Path, r.Step, r.Status)
				}
			}
		})
	}
}

func TestInstancesState(t *testing.T) {
	t.Parallel()
	cfg := emulator.Config{Token: token,
		Machines:  map[string][]string{"door": {"ver_1"}, "lamp": nil},
		Instances: map[string][]string{"lamp": {"switch", "bulb", "switch"}, "door": {}},
	}
	em := testkit.New(cfg)
	cfg.Instances["lamp"][0] = "changed"
	delete(cfg.Machines, "door")
	em.Instances("lamp")[0] = "changed"
	tests := []struct {
		name      string
		machine   string
		has       bool
		instances []string
	}{
		{name: "sorted, without duplicates, not aliasing the config or an answer", machine: "lamp", has: true, instances: []string{"bulb", "switch"}},
		{name: "machine without instances", machine: "door", has: true, instances: []string{}},
		{name: "unknown machine", machine: "fridge", has: false, instances: nil},
		{name: "empty slug", machine: "", has: false, instances: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := em.HasMachine(tc.machine); got != tc.has {
				t.Errorf("HasMachine(%q) = %t, want %t", tc.machine, got, tc.has)
			}
			if diff := cmp.Diff(tc.instances, em.Instances(tc.machine)); diff != "" {
				t.Errorf("Instances(%q) mismatch (-want +got):\n%s", tc.machine, diff)
			}
		})
	}
}

func TestFailNextDeletion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		step   emulator.Step
		status int
		body   string
	}{
		{name: "list, JSON error", step: emulator.StepListInstances, status: 503, body: `{"error":"try later","code":"unavailable"}`},
		{name: "delete instance, HTML error", step: emulator.StepDeleteInstance, status: 500, body: "<html><body>Internal Server Error</body></html>"},
		{name: "delete machine, empty body", step: emulator.StepDeleteMachine, status: 502, body: ""},
		{name: "delete machine, injected 409", step: emulator.StepDeleteMachine, status: 409, body: `{"error":"instances exist","code":"invalid-state"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, emulator.Config{Instances: map[string][]string{"lamp": {"bulb"}}})
			em.FailNext(tc.step, 2, tc.status, tc.body)
			steps := []struct {
				step   emulator.Step
				method string
				path   string
				body   string
				ok     int
			}{
				{emulator.StepListInstances, "GET", "/machines/lamp/i", "", 200},
				{emulator.StepDeleteInstance, "DELETE", "/machines/lamp/i/bulb", instanceBody(macOf("lamp", "bulb")), 204},
				{emulator.StepDeleteMachine, "DELETE", "/machines/lamp", machineBody(macOf("lamp", "lamp")), 204},
			}
			var want []recorded
			for _, s := range steps {
				failures := 0
				if s.step == tc.step {
					failures = 2
				}
				for i := range failures + 1 {
					before := []any{em.HasMachine("lamp"), em.Instances("lamp")}
					r := mustSend(t, s.method, srv.URL+s.path, apiHeader(), []byte(s.body))
					if i < failures {
						if r.status != tc.status || string(r.body) != tc.body {
							t.Fatalf("%s attempt %d = %d %q, want the injected %d %q", s.step, i+1, r.status, r.body, tc.status, tc.body)
						}
						if diff := cmp.Diff(before, []any{em.HasMachine("lamp"), em.Instances("lamp")}); diff != "" {
							t.Errorf("an injected failure changed the state (-before +after):\n%s", diff)
						}
						want = append(want, recorded{s.step, s.method, tc.status})
						continue
					}
					if r.status != s.ok {
						t.Fatalf("%s attempt %d = %d %s, want %d", s.step, i+1, r.status, r.body, s.ok)
					}
					want = append(want, recorded{s.step, s.method, s.ok})
				}
			}
			if diff := cmp.Diff(want, summarize(em.Requests())); diff != "" {
				t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
			}
			if em.HasMachine("lamp") {
				t.Error("lamp still exists after its delete succeeded")
			}
		})
	}
}

func TestConcurrentDeletes(t *testing.T) {
	t.Parallel()
	const n = 40
	all := slugs(n)
	em, srv := newServer(t, emulator.Config{PageSize: 4, Instances: map[string][]string{"door": all}})
	statuses := make([]int, n)
	listings := make([][][]string, 4)
	var wg sync.WaitGroup
	for i, s := range all {
		wg.Go(func() {
			r, err := send("DELETE", srv.URL+"/machines/door/i/"+s, apiHeader(), []byte(instanceBody(macOf("door", s))))
			if err != nil {
				t.Error(err)
			}
			statuses[i] = r.status
		})
		wg.Go(func() { _, _, _ = em.Instances("door"), em.HasMachine("door"), em.Requests() })
	}
	for i := range listings {
		wg.Go(func() { listings[i] = listPages(t, srv.URL, nil) })
	}
	wg.Wait()

	for i, s := range statuses {
		if s != 204 {
			t.Errorf("delete %s = %d, want 204", all[i], s)
		}
	}
	for i, pages := range listings {
		if got := slices.Concat(pages...); !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("listing %d = %v, want sorted slugs without repeats", i, pages)
		}
	}
	if diff := cmp.Diff([]string{}, em.Instances("door")); diff != "" {
		t.Errorf("Instances(door) after deleting all mismatch (-want +got):\n%s", diff)
	}
	if r := mustSend(t, "DELETE", srv.URL+"/machines/door", apiHeader(), []byte(machineBody(macOf("door", "door")))); r.status != 204 || em.HasMachine("door") {
		t.Errorf("delete door = %d %s (HasMachine %t), want 204 and gone", r.status, r.body, em.HasMachine("door"))
	}
}

// TestDeleteInstancesKeepTheRest deletes instances at each place in the
// slug order (a delete moves the shorter side of the rest) and checks that
// exactly the others remain, in order, listed as they are held.
func TestDeleteInstancesKeepTheRest(t *testing.T) {
	t.Parallel()
	seven := slugs(7)
	tests := []struct {
		name    string
		deletes []string
	}{
		{name: "the first", deletes: seven[:1]},
		{name: "the second", deletes: seven[1:2]},
		{name: "just before the middle", deletes: seven[2:3]},
		{name: "the middle", deletes: seven[3:4]},
		{name: "the last", deletes: seven[6:]},
		{name: "every other", deletes: []string{seven[1], seven[3], seven[5]}},
		{name: "from the front, in order", deletes: seven[:5]},
		{name: "from the back, in reverse", deletes: []string{seven[6], seven[5], seven[4], seven[3]}},
		{name: "all, from the middle out", deletes: []string{seven[3], seven[2], seven[4], seven[1], seven[5], seven[0], seven[6]}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, emulator.Config{PageSize: 3, Instances: map[string][]string{"door": seven}})
			for _, s := range tc.deletes {
				if r := deleteInstance(t, srv.URL, "door", s); r.status != http.StatusNoContent {
					t.Fatalf("delete %s = %d %s", s, r.status, r.body)
				}
			}
			want := slices.DeleteFunc(slices.Clone(seven), func(s string) bool { return slices.Contains(tc.deletes, s) })
			if diff := cmp.Diff(want, em.Instances("door")); diff != "" {
				t.Errorf("Instances(door) mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, slices.Concat(listPages(t, srv.URL, nil)...), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("listing mismatch (-want +got):\n%s", diff)
			}
			for _, s := range want { // each remaining one is still found by its slug
				if r := setVersion(t, srv.URL, s, target("ver_1")); r.status != http.StatusCreated {
					t.Errorf("set version of %s = %d %s", s, r.status, r.body)
				}
			}
		})
	}
}
