package emulator_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

// newVersion deploys a version of door, finalized with finalizeBody, and
// returns its ID.
func newVersion(t *testing.T, base, finalizeBody string) string {
	t.Helper()
	r := deployVersion(t, base, finalizeBody)
	var out struct {
		ID string `json:"machineVersionId"`
	}
	if err := json.Unmarshal(r.body, &out); r.status != http.StatusOK || err != nil {
		t.Fatalf("finalize version = %d %s (%v)", r.status, r.body, err)
	}
	return out.ID
}

// shape decodes a JSON answer for comparison with a literal: each string in
// ids becomes its key, and each createdAt from since until now becomes "now".
func shape(t *testing.T, body []byte, since time.Time, ids map[string]string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("answer %q is not JSON: %v", body, err)
	}
	names := map[string]string{}
	for k, id := range ids {
		names[id] = k
	}
	var walk func(any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				v[k] = walk(x)
				if at, err := time.Parse("2006-01-02T15:04:05.000Z", fmt.Sprint(x)); k == "createdAt" && err == nil &&
					!at.Before(since.Truncate(time.Millisecond)) && !at.After(time.Now()) {
					v[k] = "now"
				}
			}
		case []any:
			for i, x := range v {
				v[i] = walk(x)
			}
		case string:
			if k, ok := names[v]; ok {
				return k
			}
		}
		return v
	}
	return walk(v)
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("test literal %s: %v", s, err)
	}
	return v
}

func TestGetMachine(t *testing.T) {
	t.Parallel()
	const seededAt = `"createdAt":"2024-01-01T00:00:00.000Z"`
	tests := []struct {
		name    string
		cfg     emulator.Config
		machine string
		before  func(t *testing.T, base string) map[string]string // names the IDs it makes
		want    string
	}{
		{name: "no current version", machine: "door", want: `{"machine":{` + seededAt + `}}`},
		{name: "seeded current version", machine: "door",
			cfg:  emulator.Config{CurrentVersions: map[string]string{"door": "ver_2"}, VersionClientInfo: map[string]string{"ver_2": "v1.2.0"}},
			want: `{"machine":{` + seededAt + `,"currentVersion":{"id":"ver_2","createdAt":"2024-01-01T00:02:00.000Z","clientInfo":"v1.2.0"}}}`},
		{name: "seeded current version without client info", machine: "lamp", cfg: emulator.Config{CurrentVersions: map[string]string{"lamp": "ver_a"}},
			want: `{"machine":{` + seededAt + `,"currentVersion":{"id":"ver_a","createdAt":"2024-01-01T00:01:00.000Z","clientInfo":""}}}`},
		{name: "finalized with makeCurrent", machine: "door", cfg: emulator.Config{CurrentVersions: map[string]string{"door": "ver_1"}},
			before: func(t *testing.T, base string) map[string]string {
				return map[string]string{"new": newVersion(t, base, `{"clientInfo":"abc123","makeCurrent":true}`)}
			},
			want: `{"machine":{` + seededAt + `,"currentVersion":{"id":"new","createdAt":"now","clientInfo":"abc123"}}}`},
		{name: "finalized without makeCurrent", machine: "door", cfg: emulator.Config{CurrentVersions: map[string]string{"door": "ver_1"}},
			before: func(t *testing.T, base string) map[string]string {
				newVersion(t, base, `{"clientInfo":"abc123","makeCurrent":false}`)
				return nil
			},
			want: `{"machine":{` + seededAt + `,"currentVersion":{"id":"ver_1","createdAt":"2024-01-01T00:01:00.000Z","clientInfo":""}}}`},
		{name: "created through the API", machine: "fresh",
			before: func(t *testing.T, base string) map[string]string {
				if r := mustSend(t, "POST", base+"/machines", apiHeader(), []byte(`{"slug":"fresh"}`)); r.status != http.StatusCreated {
					t.Fatalf("create: %d %s", r.status, r.body)
				}
				return nil
			},
			want: `{"machine":{"createdAt":"now"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newServer(t, tc.cfg)
			since := time.Now()
			var ids map[string]string
			if tc.before != nil {
				ids = tc.before(t, srv.URL)
			}
			r := mustSend(t, "GET", srv.URL+"/machines/"+tc.machine, apiHeader(), nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET = %d %s", r.status, r.body)
			}
			if diff := cmp.Diff(mustJSON(t, tc.want), shape(t, r.body, since, ids)); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
		})
	}
}

// versionIDs returns n version IDs, oldest first.
func versionIDs(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("ver_%03d", i+1))
	}
	return out
}

// listVersionPages lists door's versions page by page, calling between
// after the first page, and returns the IDs of each page.
func listVersionPages(t *testing.T, base string, between func()) [][]string {
	t.Helper()
	return pagesOf(t, base+"/machines/door/v", "versions", "id", between)
}

func TestListVersions(t *testing.T) {
	t.Parallel()
	newest := versionIDs(5)
	slices.Reverse(newest)
	hundredOne := versionIDs(101)
	slices.Reverse(hundredOne)
	tests := []struct {
		name     string
		versions []string // door's, in Config.Machines
		pageSize int
		added    int  // versions finalized after the first page
		pending  bool // a version uploaded, but whose finalize was refused, before listing
		want     [][]string
	}{
		{name: "no versions", versions: nil, pageSize: 2, want: [][]string{{}}},
		{name: "less than a page", versions: versionIDs(1), pageSize: 2, want: [][]string{{"ver_001"}}},
		{name: "exactly a page", versions: versionIDs(2), pageSize: 2, want: [][]string{{"ver_002", "ver_001"}}},
		{name: "five in pages of two", versions: versionIDs(5), pageSize: 2, want: [][]string{newest[:2], newest[2:4], newest[4:]}},
		{name: "pages of one", versions: versionIDs(3), pageSize: 1, want: [][]string{{"ver_003"}, {"ver_002"}, {"ver_001"}}},
		{name: "duplicates count once", versions: []string{"ver_001", "ver_002", "ver_001"}, pageSize: 5, want: [][]string{{"ver_002", "ver_001"}}},
		{name: "page size 0 means 100", versions: versionIDs(101), want: [][]string{hundredOne[:100], hundredOne[100:]}},
		{name: "versions added between pages", versions: versionIDs(5), pageSize: 2, added: 3, want: [][]string{newest[:2], newest[2:4], newest[4:]}},
		{name: "added between the only page and none", versions: versionIDs(2), pageSize: 2, added: 1, want: [][]string{{"ver_002", "ver_001"}}},
		{name: "a version not finalized is not listed", versions: versionIDs(1), pageSize: 5, pending: true, want: [][]string{{"ver_001"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newServer(t, emulator.Config{PageSize: tc.pageSize, Machines: map[string][]string{"door": tc.versions}})
			if tc.pending {
				if r := deployVersion(t, srv.URL, `{"indexSelectors":[]}`); r.status != http.StatusBadRequest {
					t.Fatalf("finalize with bad indexSelectors = %d %s, want 400", r.status, r.body)
				}
			}
			var added []string
			got := listVersionPages(t, srv.URL, func() {
				for range tc.added {
					added = append(added, newVersion(t, srv.URL, `{"clientInfo":"x"}`))
				}
			})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pages mismatch (-want +got):\n%s", diff)
			}
			slices.Reverse(added)
			again := slices.Concat(listVersionPages(t, srv.URL, nil)...)
			if want := slices.Concat(added, slices.Concat(tc.want...)); !cmp.Equal(again, want) {
				t.Errorf("listing again = %v, want the added versions first, newest first: %v", again, want)
			}
		})
	}
}

func TestListVersionsItems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      emulator.Config
		finalize string // if set, finalize a version of door with this body first; its ID is "new"
		want     string
	}{
		{name: "seeded", cfg: emulator.Config{VersionClientInfo: map[string]string{"ver_1": "abc"}},
			want: `{"versions":[{"id":"ver_2","createdAt":"2024-01-01T00:02:00.000Z","clientInfo":""},{"id":"ver_1","createdAt":"2024-01-01T00:01:00.000Z","clientInfo":"abc"}]}`},
		{name: "finalized", finalize: `{"clientInfo":"v2.0.0"}`,
			want: `{"versions":[{"id":"new","createdAt":"now","clientInfo":"v2.0.0"},{"id":"ver_2","createdAt":"2024-01-01T00:02:00.000Z","clientInfo":""},{"id":"ver_1","createdAt":"2024-01-01T00:01:00.000Z","clientInfo":""}]}`},
		{name: "finalized without clientInfo", finalize: `{}`,
			want: `{"versions":[{"id":"new","createdAt":"now","clientInfo":""},{"id":"ver_2","createdAt":"2024-01-01T00:02:00.000Z","clientInfo":""},{"id":"ver_1","createdAt":"2024-01-01T00:01:00.000Z","clientInfo":""}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newServer(t, tc.cfg)
			since := time.Now()
			ids := map[string]string{}
			if tc.finalize != "" {
				ids["new"] = newVersion(t, srv.URL, tc.finalize)
			}
			r := mustSend(t, "GET", srv.URL+"/machines/door/v", apiHeader(), nil)
			if r.status != http.StatusOK {
				t.Fatalf("list = %d %s", r.status, r.body)
			}
			if diff := cmp.Diff(mustJSON(t, tc.want), shape(t, r.body, since, ids)); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
		})
	}
}

// firstCursor returns the cursor of the first page of machine's versions.
func firstCursor(t *testing.T, base, machine string) string {
	t.Helper()
	var page struct{ Cursor string }
	r := mustSend(t, "GET", base+"/machines/"+machine+"/v", apiHeader(), nil)
	if err := json.Unmarshal(r.body, &page); err != nil || page.Cursor == "" {
		t.Fatalf("%s's first page = %d %s, want a cursor", machine, r.status, r.body)
	}
	return page.Cursor
}

func TestListVersionsRejections(t *testing.T) {
	t.Parallel()
	ciScopes := []string{"machines.read", "machines.write", "machine-versions.read", "machine-versions.write"}
	cursor := func(s string) string { return "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name       string
		cfg        emulator.Config
		path       string      // "" means /machines/door/v
		header     http.Header // nil means apiHeader()
		lampCursor bool        // append the cursor of lamp's first page to the path
		want       apiErr
		wantText   string
	}{
		{name: "with machine-versions.read", cfg: emulator.Config{Scopes: []string{"machine-versions.read"}}, want: apiErr{Status: 200}},
		{name: "with a CI key's scopes", cfg: emulator.Config{Scopes: ciScopes}, want: apiErr{Status: 200}},
		{name: "without machine-versions.read", cfg: emulator.Config{Scopes: []string{"machines.read", "machine-versions.write"}},
			want: apiErr{403, "missing-scope", ""}, wantText: "machine-versions.read"},
		{name: "no token", header: apiHeader("Authorization", ""), want: apiErr{401, "unauthorized", ""}},
		{name: "unknown machine", path: "/machines/fridge/v", want: apiErr{404, "not-found", ""}, wantText: "machine not found"},
		{name: "machine slug with a dot", path: "/machines/do.or/v", want: invalid("machineSlug")},
		{name: "cursor not base64url", path: "/machines/door/v?cursor=%21%21", want: invalid("cursor")},
		{name: "cursor empty", path: "/machines/door/v?cursor=", want: invalid("cursor")},
		{name: "cursor padded", path: "/machines/door/v?cursor=dmVyXzI%3D", want: invalid("cursor")},
		{name: "cursor issued for another machine", cfg: emulator.Config{PageSize: 1}, lampCursor: true, want: invalid("cursor"), wantText: "not issued here"},
		{name: "cursor of an unknown version", path: "/machines/door/v" + cursor("ver_9"), want: invalid("cursor")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newServer(t, tc.cfg)
			path, header := tc.path, tc.header
			if path == "" {
				path = "/machines/door/v"
			}
			if header == nil {
				header = apiHeader()
			}
			if tc.lampCursor {
				path += "?cursor=" + url.QueryEscape(firstCursor(t, srv.URL, "lamp"))
			}
			r := mustSend(t, "GET", srv.URL+path, header, nil)
			got, msg := decodeErr(t, r)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
			if !strings.Contains(msg, tc.wantText) {
				t.Errorf("error text %q, want one containing %q", msg, tc.wantText)
			}
		})
	}
}

// TestConcurrentVersions finalizes versions while others list them, read the
// machine and set an instance's version: each listing has no repeats, and at
// the end every version is listed once, and the last made current is current.
func TestConcurrentVersions(t *testing.T) {
	t.Parallel()
	const n = 12
	em, srv := newServer(t, emulator.Config{PageSize: 3, Instances: map[string][]string{"door": {"bulb"}}})
	ids := make([]string, n)
	var listings [][]string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i] = newVersion(t, srv.URL, `{"makeCurrent":true}`) })
		wg.Go(func() {
			got := slices.Concat(listVersionPages(t, srv.URL, nil)...)
			mu.Lock()
			defer mu.Unlock()
			listings = append(listings, got)
		})
		wg.Go(func() {
			_ = mustSend(t, "GET", srv.URL+"/machines/door", apiHeader(), nil)
			_ = setVersion(t, srv.URL, "bulb", target("ver_1"))
			_, _ = em.DesiredVersion("door", "bulb")
		})
	}
	wg.Wait()
	for _, l := range listings {
		if len(slices.Compact(slices.Sorted(slices.Values(l)))) != len(l) {
			t.Errorf("a listing repeats a version: %v", l)
		}
	}
	got := slices.Concat(listVersionPages(t, srv.URL, nil)...)
	want := slices.Concat(ids, []string{"ver_1", "ver_2"})
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("final listing mismatch (-want +got):\n%s", diff)
	}
	var m struct {
		Machine struct {
			CurrentVersion struct{ ID string }
		}
	}
	r := mustSend(t, "GET", srv.URL+"/machines/door", apiHeader(), nil)
	if err := json.Unmarshal(r.body, &m); err != nil || m.Machine.CurrentVersion.ID != got[0] {
		t.Errorf("current version = %q (%v), want the newest, %q", m.Machine.CurrentVersion.ID, err, got[0])
	}
}
