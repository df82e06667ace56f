package emulator_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
)

// The keys of keyConfig: one in Config.Keys, one in Config.CIKeys.
const (
	adminKey, adminSecret = "sbk_admin", "sbsec_admin_secret"
	ciKey, ciSecret       = "sbk_ci", "sbsec_ci_secret"
)

// keyConfig has door, with instance knob and a migration ver_1 -> ver_2 to
// move it along, lamp with no instances, and both keys.
func keyConfig() emulator.Config {
	return emulator.Config{
		Machines:   map[string][]string{"door": {"ver_1", "ver_2"}, "lamp": {"ver_a"}},
		Instances:  map[string][]string{"door": {"knob"}},
		Migrations: map[string][][2]string{"door": {{"ver_1", "ver_2"}}},
		Keys:       map[string]string{adminKey: adminSecret},
		CIKeys:     map[string]string{ciKey: ciSecret},
	}
}

// keyHeader returns the headers of an API request made with a token minted
// from key kid, as a client mints one.
func keyHeader(t *testing.T, kid, secret string) http.Header {
	t.Helper()
	now := time.Now().Unix()
	tok := jwt(t, map[string]any{"alg": "HS256", "kid": kid},
		map[string]any{"aud": "https://api.statebacked.dev/", "iss": "https://" + kid + ".client.statebacked.dev/",
			"iat": now, "exp": now + 300, "act": map[string]any{"sub": "ci"}}, secret)
	return apiHeader("Authorization", "Bearer "+tok)
}

// threeSteps provisions at path with body, uploads the code, and returns the
// answer to the finalize at path/{signedID} with finalBody, every API
// request sent with h. idKey names the signed ID in provision's answer.
func threeSteps(t *testing.T, base, path, body, idKey, finalBody string, h http.Header) response {
	t.Helper()
	r := mustSend(t, "POST", base+path, h, []byte(body))
	if r.status != http.StatusOK {
		return r
	}
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	p := provisioned{ID: got[idKey].(string), URL: got["codeUploadUrl"].(string), Fields: map[string]string{}}
	for k, v := range got["codeUploadFields"].(map[string]any) {
		p.Fields[k] = v.(string)
	}
	if r, err := upload(p.URL, uploadParts(p, false, []byte(code))); err != nil || r.status != http.StatusNoContent {
		t.Fatalf("upload = %d %s %v", r.status, r.body, err)
	}
	return mustSend(t, "PUT", base+path+"/"+p.ID, h, []byte(finalBody))
}

// outcome is the status of r and, for an error, its code and parameter and
// text.
func outcome(t *testing.T, r response) (apiErr, string) {
	t.Helper()
	if r.status/100 == 2 {
		return apiErr{Status: r.status}, ""
	}
	return decodeErr(t, r)
}

// keyRequest is a request of one step, made with header h, with the scope
// the step needs.
type keyRequest struct {
	name  string
	send  func(t *testing.T, base string, h http.Header) response
	ok    int    // the status of success
	scope string // what the step needs
	ci    bool   // a CI key has scope
}

// keyRequests has a keyRequest of each API step.
var keyRequests = []keyRequest{
	{name: "get machine", ok: 200, scope: "machines.read", ci: true, send: func(t *testing.T, base string, h http.Header) response {
		return mustSend(t, "GET", base+"/machines/door", h, nil)
	}},
	{name: "create machine", ok: 201, scope: "machines.write", ci: true, send: func(t *testing.T, base string, h http.Header) response {
		return mustSend(t, "POST", base+"/machines", h, []byte(`{"slug":"fresh"}`))
	}},
	{name: "list versions", ok: 200, scope: "machine-versions.read", ci: true, send: func(t *testing.T, base string, h http.Header) response {
		return mustSend(t, "GET", base+"/machines/door/v", h, nil)
	}},
	{name: "provision and finalize a version", ok: 200, scope: "machine-versions.write", ci: true, send: func(t *testing.T, base string, h http.Header) response {
		return threeSteps(t, base, "/machines/door/v", "{}", "machineVersionId", `{"clientInfo":"abc123","makeCurrent":true}`, h)
	}},
	{name: "provision and finalize a migration", ok: 200, scope: "machine-versions.write", ci: true, send: func(t *testing.T, base string, h http.Header) response {
		return threeSteps(t, base, "/machines/door/migrations", provisionBody, "machineVersionMigrationId", "", h)
	}},
	{name: "list instances", ok: 200, scope: "instances.read", send: func(t *testing.T, base string, h http.Header) response {
		return mustSend(t, "GET", base+"/machines/door/i", h, nil)
	}},
	{name: "set instance version", ok: 201, scope: "instances.write", send: func(t *testing.T, base string, h http.Header) response {
		return mustSend(t, "PUT", base+"/machines/door/i/knob/v", h, []byte(target("ver_2")))
	}},
	{name: "read instance admin state", ok: 200, scope: "instances.admin", send: func(t *testing.T, base string, h http.Header) response {
		return mustSend(t, "GET", base+"/machines/door/i/knob/admin", h, nil)
	}},
	{name: "delete instance", ok: 204, scope: "instances.admin", send: func(t *testing.T, base string, h http.Header) response {
		return mustSend(t, "DELETE", base+"/machines/door/i/knob", h, []byte(instanceBody(macOf("door", "knob"))))
	}},
	{name: "delete machine", ok: 204, scope: "machines.admin", send: func(t *testing.T, base string, h http.Header) response {
		return mustSend(t, "DELETE", base+"/machines/lamp", h, []byte(machineBody(macOf("lamp", "lamp"))))
	}},
}

// TestKeyScopes sends each step's request with a token of a CI key, which
// has only the scopes of `smply keys create --use ci`, and of a key of
// Config.Keys, which has every scope.
func TestKeyScopes(t *testing.T) {
	t.Parallel()
	keys := []struct {
		name, id, secret string
		ci               bool
	}{
		{name: "CI key", id: ciKey, secret: ciSecret, ci: true},
		{name: "admin key", id: adminKey, secret: adminSecret},
	}
	for _, key := range keys {
		for _, rq := range keyRequests {
			t.Run(key.name+"/"+rq.name, func(t *testing.T) {
				t.Parallel()
				em, srv := newServer(t, keyConfig())
				want, wantText := apiErr{Status: rq.ok}, ""
				if key.ci && !rq.ci {
					want, wantText = apiErr{403, "missing-scope", ""}, "lacks the "+rq.scope+" scope"
				}
				r := rq.send(t, srv.URL, keyHeader(t, key.id, key.secret))
				got, text := outcome(t, r)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
				}
				if !strings.Contains(text, wantText) {
					t.Errorf("error text %q, want it to contain %q", text, wantText)
				}
				if want.Status == 403 && (!slices.Equal(em.Instances("door"), []string{"knob"}) || !em.HasMachine("lamp")) {
					t.Errorf("a refused request changed state: door's instances %v, lamp exists %t", em.Instances("door"), em.HasMachine("lamp"))
				}
			})
		}
	}
}

// TestKeyScopesAndConfigScopes checks whose scopes Config.Scopes limits:
// Token's and those of Config.Keys' tokens, not those of Config.CIKeys'.
func TestKeyScopesAndConfigScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scopes []string
		header func(t *testing.T) http.Header
		step   string // a name in keyRequests
		want   apiErr
	}{
		{name: "the token, without the scope", scopes: []string{"instances.read"}, step: "provision and finalize a migration",
			header: func(*testing.T) http.Header { return apiHeader() }, want: apiErr{403, "missing-scope", ""}},
		{name: "a key of Keys, without the scope", scopes: []string{"instances.read"}, step: "provision and finalize a migration",
			header: func(t *testing.T) http.Header { return keyHeader(t, adminKey, adminSecret) }, want: apiErr{403, "missing-scope", ""}},
		{name: "a key of Keys, with it", scopes: []string{"instances.read"}, step: "list instances",
			header: func(t *testing.T) http.Header { return keyHeader(t, adminKey, adminSecret) }, want: apiErr{Status: 200}},
		{name: "a CI key, with its own scope", scopes: []string{"instances.read"}, step: "provision and finalize a migration",
			header: func(t *testing.T) http.Header { return keyHeader(t, ciKey, ciSecret) }, want: apiErr{Status: 200}},
		{name: "a CI key, without a scope Scopes has", scopes: []string{"instances.read"}, step: "list instances",
			header: func(t *testing.T) http.Header { return keyHeader(t, ciKey, ciSecret) }, want: apiErr{403, "missing-scope", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := keyConfig()
			cfg.Scopes = tc.scopes
			_, srv := newServer(t, cfg)
			i := slices.IndexFunc(keyRequests, func(rq keyRequest) bool { return rq.name == tc.step })
			r := keyRequests[i].send(t, srv.URL, tc.header(t))
			got, _ := outcome(t, r)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
		})
	}
}

func TestCIScopes(t *testing.T) {
	t.Parallel()
	want := []string{"machines.read", "machines.write", "machine-versions.read", "machine-versions.write"}
	got := emulator.CIScopes()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CIScopes() mismatch (-want +got):\n%s", diff)
	}
	got[0] = "changed"
	if emulator.CIScopes()[0] != want[0] {
		t.Error("CIScopes() returns the emulator's own slice")
	}
}
