package emulator_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
)

func invalid(param string) apiErr { return apiErr{400, "invalid-parameter", param} }

func errOf(t *testing.T, r response) apiErr {
	t.Helper()
	e, _ := decodeErr(t, r)
	return e
}

// deployVersion provisions, uploads and finalizes a version of door with
// finalizeBody, and returns the finalize answer.
func deployVersion(t *testing.T, base, finalizeBody string) response {
	t.Helper()
	r := mustSend(t, "POST", base+"/machines/door/v?gzip", apiHeader(), []byte("{}"))
	if r.status != http.StatusOK {
		t.Fatalf("provision version: %d %s", r.status, r.body)
	}
	var p struct {
		ID     string            `json:"machineVersionId"`
		URL    string            `json:"codeUploadUrl"`
		Fields map[string]string `json:"codeUploadFields"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	up := uploadParts(provisioned{ID: p.ID, URL: p.URL, Fields: p.Fields}, true, gzipped([]byte("export default {}")))
	if r, err := upload(p.URL, up); err != nil || r.status != http.StatusNoContent {
		t.Fatalf("upload: %d %s %v", r.status, r.body, err)
	}
	return mustSend(t, "PUT", base+"/machines/door/v/"+p.ID, apiHeader(), []byte(finalizeBody))
}

func TestVersionDeploy(t *testing.T) {
	t.Parallel()
	em, srv := newServer(t, emulator.Config{})
	r := deployVersion(t, srv.URL, `{"clientInfo":"abc123","makeCurrent":true,"indexSelectors":{"email":"$.email"}}`)
	if r.status != http.StatusOK {
		t.Fatalf("finalize version: %d %s", r.status, r.body)
	}
	var out struct {
		ID string `json:"machineVersionId"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	vs := em.Versions()
	if len(vs) != 1 {
		t.Fatalf("%d versions, want 1", len(vs))
	}
	v := vs[0]
	if v.ID != out.ID || !v.Finalized || !v.Gzip || v.ClientInfo != "abc123" || !v.MakeCurrent || string(v.IndexSelectors) != `{"email":"$.email"}` {
		t.Errorf("version = %+v, answer %s", v, r.body)
	}
	if len(em.Migrations()) != 0 {
		t.Error("a version is listed among the migrations")
	}
	// The new version can be migrated to.
	body := `{"fromMachineVersionId":"ver_1","toMachineVersionId":"` + out.ID + `"}`
	if r := mustSend(t, "POST", srv.URL+"/machines/door/migrations", apiHeader(), []byte(body)); r.status != http.StatusOK {
		t.Errorf("provision a migration to the new version: %d %s", r.status, r.body)
	}
}

func TestVersionRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, finalizeBody string
		want               apiErr
	}{
		{"unknown key", `{"clientInfo":"x","extra":1}`, invalid("extra")},
		{"makeCurrent not a boolean", `{"makeCurrent":"yes"}`, invalid("makeCurrent")},
		{"indexSelectors not an object", `{"indexSelectors":[1]}`, invalid("indexSelectors")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newServer(t, emulator.Config{})
			r := deployVersion(t, srv.URL, tt.finalizeBody)
			if diff := cmp.Diff(tt.want, errOf(t, r)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("finalize before upload", func(t *testing.T) {
		t.Parallel()
		_, srv := newServer(t, emulator.Config{})
		r := mustSend(t, "POST", srv.URL+"/machines/door/v", apiHeader(), nil)
		var p struct {
			ID string `json:"machineVersionId"`
		}
		_ = json.Unmarshal(r.body, &p)
		r = mustSend(t, "PUT", srv.URL+"/machines/door/v/"+p.ID, apiHeader(), []byte(`{}`))
		if diff := cmp.Diff(invalid("signedMachineVersionId"), errOf(t, r)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("provision body with a key", func(t *testing.T) {
		t.Parallel()
		_, srv := newServer(t, emulator.Config{})
		r := mustSend(t, "POST", srv.URL+"/machines/door/v", apiHeader(), []byte(`{"code":"x"}`))
		if diff := cmp.Diff(invalid("code"), errOf(t, r)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestMachines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		cfg                      emulator.Config
		want                     apiErr
	}{
		{name: "get existing", method: "GET", path: "/machines/door", want: apiErr{Status: 200}},
		{name: "get missing", method: "GET", path: "/machines/nope", want: apiErr{404, "not-found", ""}},
		{name: "get without machines.read", method: "GET", path: "/machines/door", cfg: emulator.Config{Scopes: []string{"machines.write"}}, want: apiErr{403, "missing-scope", ""}},
		{name: "create", method: "POST", path: "/machines", body: `{"slug":"new-one","indexes":["email"]}`, want: apiErr{Status: 201}},
		{name: "create existing", method: "POST", path: "/machines", body: `{"slug":"door"}`, want: apiErr{409, "invalid-state", ""}},
		{name: "create with a bad slug", method: "POST", path: "/machines", body: `{"slug":"a b"}`, want: invalid("slug")},
		{name: "create without slug", method: "POST", path: "/machines", body: `{"indexes":[]}`, want: invalid("slug")},
		{name: "create with an unknown key", method: "POST", path: "/machines", body: `{"slug":"x","code":1}`, want: invalid("code")},
		{name: "create without machines.write", method: "POST", path: "/machines", body: `{"slug":"x"}`, cfg: emulator.Config{Scopes: []string{"machines.read"}}, want: apiErr{403, "missing-scope", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, tt.cfg)
			r := mustSend(t, tt.method, srv.URL+tt.path, apiHeader(), []byte(tt.body))
			if diff := cmp.Diff(tt.want, errOf(t, r)); diff != "" {
				t.Errorf("answer %s\n(-want +got):\n%s", r.body, diff)
			}
			if tt.want.Status == 201 {
				if !em.HasMachine("new-one") || !cmp.Equal(em.MachineIndexes("new-one"), []string{"email"}) {
					t.Errorf("machine not created with its indexes: %v", em.MachineIndexes("new-one"))
				}
			}
		})
	}
}

// jwt builds a token by hand, so these tests depend on no JWT library.
func jwt(t *testing.T, header, claims map[string]any, secret string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func TestKeyTokens(t *testing.T) {
	t.Parallel()
	const kid, secret = "sbk_ci", "sbsec_ci_secret"
	now := time.Now().Unix()
	header := map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"aud": "https://api.statebacked.dev/", "iss": "https://sbk_ci.client.statebacked.dev/",
			"iat": now, "exp": now + 300, "act": map[string]any{"sub": "ci"}}
		if edit != nil {
			edit(c)
		}
		return c
	}
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", jwt(t, header, claims(nil), secret), true},
		{"wrong secret", jwt(t, header, claims(nil), "sbsec_other"), false},
		{"unknown kid", jwt(t, map[string]any{"alg": "HS256", "kid": "sbk_x"}, claims(nil), secret), false},
		{"alg none", jwt(t, map[string]any{"alg": "none", "kid": kid}, claims(nil), secret), false},
		{"expired", jwt(t, header, claims(func(c map[string]any) { c["iat"], c["exp"] = now-600, now-1 }), secret), false},
		{"lifetime over an hour", jwt(t, header, claims(func(c map[string]any) { c["exp"] = now + 3601 }), secret), false},
		{"wrong aud", jwt(t, header, claims(func(c map[string]any) { c["aud"] = "https://example.com/" }), secret), false},
		{"wrong iss", jwt(t, header, claims(func(c map[string]any) { c["iss"] = "https://sbk_x.client.statebacked.dev/" }), secret), false},
		{"act not an object", jwt(t, header, claims(func(c map[string]any) { c["act"] = "ci" }), secret), false},
		{"not a JWT", "sbk_ci.garbage", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newServer(t, emulator.Config{Keys: map[string]string{kid: secret}})
			r := mustSend(t, "GET", srv.URL+"/machines/door", apiHeader("Authorization", "Bearer "+tt.token), nil)
			if got := r.status == http.StatusOK; got != tt.ok {
				t.Errorf("accepted = %v (%d %s), want %v", got, r.status, r.body, tt.ok)
			}
			if !tt.ok && !strings.Contains(string(r.body), `"unauthorized"`) {
				t.Errorf("answer %s, want code unauthorized", r.body)
			}
		})
	}
}

// TestCreatedMachineLifecycle checks that a machine created through the API
// behaves like any other: its (empty) instances list, and it can be deleted.
func TestCreatedMachineLifecycle(t *testing.T) {
	t.Parallel()
	em, srv := newServer(t, emulator.Config{})
	if r := mustSend(t, "POST", srv.URL+"/machines", apiHeader(), []byte(`{"slug":"fresh"}`)); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r := mustSend(t, "GET", srv.URL+"/machines/fresh/i", apiHeader(), nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"instances":[]`) {
		t.Errorf("list instances: %d %s, want 200 with none", r.status, r.body)
	}
	body := `{"dangerDataWillBeDeletedForever":true,"hmacSha256OfMachineNameWithMachineNameKey":"` + macOf("fresh", "fresh") + `"}`
	if r := mustSend(t, "DELETE", srv.URL+"/machines/fresh", apiHeader(), []byte(body)); r.status != http.StatusNoContent {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if em.HasMachine("fresh") {
		t.Error("machine still exists after delete")
	}
}
