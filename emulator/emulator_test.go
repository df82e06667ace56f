package emulator_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

const (
	token         = "tok_test"
	provisionBody = `{"fromMachineVersionId":"ver_1","toMachineVersionId":"ver_2"}`
	code          = "export function upgradeState(s) { return s }"
)

func newServer(t *testing.T, cfg emulator.Config) (*testkit.Emu, *httptest.Server) {
	t.Helper()
	cfg.Token = token
	if cfg.Machines == nil {
		cfg.Machines = map[string][]string{"door": {"ver_1", "ver_2"}, "lamp": {"ver_a", "ver_b"}}
	}
	em := testkit.New(cfg)
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	return em, srv
}

// apiHeader returns the headers of a valid API request, with each pair of
// kv set (or deleted, when the value is "").
func apiHeader(kv ...string) http.Header {
	h := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	for i := 0; i < len(kv); i += 2 {
		if h.Del(kv[i]); kv[i+1] != "" {
			h.Set(kv[i], kv[i+1])
		}
	}
	return h
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func send(method, url string, header http.Header, body []byte) (response, error) {
	return sendWith(testClient, method, url, header, body)
}

// testClient sends the tests' requests. Not http.DefaultClient: each
// httptest.Server.Close closes the idle connections of http.DefaultTransport,
// which fails a parallel test's request that was about to reuse one.
var testClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

func sendWith(c *http.Client, method, url string, header http.Header, body []byte) (response, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header = header
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}, err
}

func mustSend(t *testing.T, method, url string, header http.Header, body []byte) response {
	t.Helper()
	r, err := send(method, url, header, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type provisioned struct {
	ID     string            `json:"machineVersionMigrationId"`
	URL    string            `json:"codeUploadUrl"`
	Fields map[string]string `json:"codeUploadFields"`
}

func provision(base, query string) (provisioned, error) {
	var p provisioned
	r, err := send("POST", base+"/machines/door/migrations"+query, apiHeader(), []byte(provisionBody))
	if err == nil && r.status != http.StatusOK {
		err = fmt.Errorf("provision: %d %s", r.status, r.body)
	}
	if err == nil {
		err = json.Unmarshal(r.body, &p)
	}
	return p, err
}

func mustProvision(t *testing.T, base, query string) provisioned {
	t.Helper()
	p, err := provision(base, query)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// part is one multipart part; file parts carry a filename and content type.
type part struct {
	name, value     string
	filename, ctype string
}

// uploadParts returns the parts a correct client sends, in the order docs/api.md gives.
func uploadParts(p provisioned, gz bool, file []byte) []part {
	var parts []part
	for _, k := range slices.Sorted(maps.Keys(p.Fields)) {
		parts = append(parts, part{name: k, value: p.Fields[k]})
	}
	parts = append(parts, part{name: "content-type", value: "application/javascript"})
	if gz {
		parts = append(parts, part{name: "content-encoding", value: "gzip"})
	}
	return append(parts, part{name: "file", value: string(file), filename: "door_ver_1_to_ver_2.js", ctype: "application/javascript"})
}

func encodeForm(parts []part) (contentType string, body []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf("form-data; name=%q", p.name)
		if p.filename != "" {
			disp += fmt.Sprintf("; filename=%q", p.filename)
		}
		h.Set("Content-Disposition", disp)
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		w, _ := mw.CreatePart(h)
		_, _ = io.WriteString(w, p.value)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func upload(url string, parts []part) (response, error) {
	ct, body := encodeForm(parts)
	return send("POST", url, http.Header{"Content-Type": {ct}}, body)
}

func finalize(base, signedID string) (response, error) {
	return send("PUT", base+"/machines/door/migrations/"+signedID, apiHeader(), nil)
}

// deploy runs the three steps and returns the migration's public ID.
func deploy(base string, gz bool, file []byte) (string, error) {
	query := ""
	if gz {
		query = "?gzip"
	}
	p, err := provision(base, query)
	if err != nil {
		return "", err
	}
	if r, err := upload(p.URL, uploadParts(p, gz, file)); err != nil || r.status != http.StatusNoContent {
		return "", fmt.Errorf("upload: %d %s %v", r.status, r.body, err)
	}
	r, err := finalize(base, p.ID)
	if err != nil || r.status != http.StatusOK {
		return "", fmt.Errorf("finalize: %d %s %v", r.status, r.body, err)
	}
	var out struct {
		ID string `json:"machineVersionMigrationId"`
	}
	return out.ID, json.Unmarshal(r.body, &out)
}

func gzipped(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return buf.Bytes()
}

// gzippedSize returns valid gzip of exactly size bytes: stored blocks of
// JavaScript, padded to the byte with the header's extra field.
func gzippedSize(t *testing.T, size int) []byte {
	t.Helper()
	compress := func(extra []byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression)
		zw.Extra = extra
		_, _ = zw.Write(bytes.Repeat([]byte("x;"), (size-1000)/2))
		_ = zw.Close()
		return buf.Bytes()
	}
	b := compress(make([]byte, 0, 1000)) // an empty extra field still costs its 2-byte length
	b = compress(make([]byte, size-len(b)))
	if len(b) != size {
		t.Fatalf("gzipped to %d bytes, want %d", len(b), size)
	}
	return b
}

// recorded is the part of a Request these tests compare.
type recorded struct {
	Step   emulator.Step
	Method string
	Status int
}

func summarize(reqs []emulator.Request) []recorded {
	var out []recorded
	for _, r := range reqs {
		out = append(out, recorded{r.Step, r.Method, r.Status})
	}
	return out
}

func TestDeploy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		gzip  bool
	}{
		{name: "plain", query: "", gzip: false},
		{name: "gzip flag bare", query: "?gzip", gzip: true},
		{name: "gzip=true", query: "?gzip=true", gzip: true},
		{name: "gzip=1", query: "?gzip=1", gzip: true},
		{name: "gzip=false", query: "?gzip=false", gzip: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, emulator.Config{})
			file := []byte(code)
			if tc.gzip {
				file = gzipped(file)
			}

			p := mustProvision(t, srv.URL, tc.query)
			if want := srv.URL + "/upload/"; !strings.HasPrefix(p.URL, want) {
				t.Errorf("codeUploadUrl = %q, want prefix %q", p.URL, want)
			}
			for _, k := range []string{"key", "bucket", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "Policy", "X-Amz-Signature"} {
				if p.Fields[k] == "" {
					t.Errorf("codeUploadFields lacks %s: %v", k, p.Fields)
				}
			}
			policy, err := base64.StdEncoding.DecodeString(p.Fields["Policy"])
			if err != nil || !json.Valid(policy) || !bytes.Contains(policy, []byte(p.Fields["key"])) || !bytes.Contains(policy, []byte("content-length-range")) {
				t.Errorf("Policy %q is not base64 JSON naming the key and a content-length-range (%v)", policy, err)
			}

			up, err := upload(p.URL, uploadParts(p, tc.gzip, file))
			if err != nil || up.status != http.StatusNoContent || len(up.body) != 0 {
				t.Fatalf("upload = %d %q %v, want 204 and no body", up.status, up.body, err)
			}
			var ids []string
			for range 2 { // finalizing again answers the same
				r := mustSend(t, "PUT", srv.URL+"/machines/door/migrations/"+p.ID, apiHeader(), []byte("{}"))
				var out struct {
					ID string `json:"machineVersionMigrationId"`
				}
				if err := json.Unmarshal(r.body, &out); r.status != http.StatusOK || err != nil {
					t.Fatalf("finalize = %d %s", r.status, r.body)
				}
				ids = append(ids, out.ID)
			}
			if !regexp.MustCompile(`^mvm_[0-9a-f]{16}$`).MatchString(ids[0]) || ids[1] != ids[0] || !strings.HasPrefix(p.ID, ids[0]+".") {
				t.Errorf("finalize IDs = %q for signed ID %q, want the same mvm_<hex> twice, prefixing the signed ID", ids, p.ID)
			}

			want := []emulator.Deploy{{ID: ids[0], SignedID: p.ID, Machine: "door", From: "ver_1", To: "ver_2", Gzip: tc.gzip, Code: file, Finalized: true}}
			if diff := cmp.Diff(want, em.Migrations()); diff != "" {
				t.Errorf("Migrations() mismatch (-want +got):\n%s", diff)
			}
			reqs := em.Requests()
			wantReqs := []recorded{
				{emulator.StepProvision, "POST", 200}, {emulator.StepUpload, "POST", 204},
				{emulator.StepFinalize, "PUT", 200}, {emulator.StepFinalize, "PUT", 200},
			}
			if diff := cmp.Diff(wantReqs, summarize(reqs)); diff != "" {
				t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
			}
			if got := reqs[0]; string(got.Body) != provisionBody || got.RawQuery != strings.TrimPrefix(tc.query, "?") ||
				got.Path != "/machines/door/migrations" || got.Header.Get("Authorization") != "Bearer "+token {
				t.Errorf("recorded provision = %+v, want the request as sent", got)
			}
			if _, body := encodeForm(uploadParts(p, tc.gzip, file)); len(reqs[1].Body) != len(body) {
				t.Errorf("recorded upload body is %d bytes, want %d", len(reqs[1].Body), len(body))
			}
		})
	}
}

// apiErr is the part of an API error answer the tests compare.
type apiErr struct {
	Status    int
	Code      string `json:"code"`
	Parameter string `json:"parameter"`
}

func TestAPIRejections(t *testing.T) {
	t.Parallel()
	bigBody := fmt.Sprintf(`{"fromMachineVersionId":"ver_1","toMachineVersionId":"ver_2","code":"%s"}`, strings.Repeat("1", 64<<10))
	twoOrgs := emulator.Config{Orgs: []string{"org_a", "org_b"}}
	forged := "/machines/door/migrations/mvm_0123456789abcdef.00"
	badParam := func(param string) apiErr { return apiErr{400, "invalid-parameter", param} }
	tests := []struct {
		name     string
		cfg      emulator.Config
		method   string
		path     string      // "{signed}" becomes the signed ID of a migration provisioned first
		header   http.Header // nil means apiHeader()
		body     string
		want     apiErr
		wantText string
	}{
		{name: "no token", header: apiHeader("Authorization", ""), want: apiErr{401, "unauthorized", ""}},
		{name: "wrong token", header: apiHeader("Authorization", "Bearer tok_other"), want: apiErr{401, "unauthorized", ""}},
		{name: "token without Bearer", header: apiHeader("Authorization", token), want: apiErr{401, "unauthorized", ""}},
		{name: "several orgs, none named", cfg: twoOrgs, want: apiErr{400, "specify-org", ""}},
		{name: "several orgs, one named", cfg: twoOrgs, header: apiHeader("x-statebacked-org-id", "org_b"), want: apiErr{Status: 200}},
		{name: "org not the user's", cfg: emulator.Config{Orgs: []string{"org_a"}}, header: apiHeader("x-statebacked-org-id", "org_z"), want: apiErr{403, "missing-org", ""}},
		{name: "scope present", cfg: emulator.Config{Scopes: []string{"machine-versions.write"}}, want: apiErr{Status: 200}},
		{name: "scope missing on provision", cfg: emulator.Config{Scopes: []string{"machines.read", "machines.write"}}, want: apiErr{403, "missing-scope", ""}, wantText: "machine-versions.write"},
		{name: "no scopes at all", cfg: emulator.Config{Scopes: []string{}}, want: apiErr{403, "missing-scope", ""}, wantText: "machine-versions.write"},
		{name: "scope missing on finalize", cfg: emulator.Config{Scopes: []string{"machines.read"}}, method: "PUT", path: forged, want: apiErr{403, "missing-scope", ""}},
		{name: "slug with a dot", path: "/machines/do.or/migrations", want: badParam("machineSlug")},
		{name: "slug of 129 characters", path: "/machines/" + strings.Repeat("a", 129) + "/migrations", want: badParam("machineSlug")},
		{name: "slug of 128 characters, unknown", path: "/machines/" + strings.Repeat("a", 128) + "/migrations", want: apiErr{404, "not-found", ""}},
		{name: "unknown machine", path: "/machines/fridge/migrations", want: apiErr{404, "not-found", ""}, wantText: "machine not found"},
		{name: "extra key (the JS client's flaw)", body: `{"fromMachineVersionId":"ver_1","toMachineVersionId":"ver_2","code":{"0":31}}`, want: badParam("code")},
		{name: "missing to", body: `{"fromMachineVersionId":"ver_1"}`, want: badParam("toMachineVersionId")},
		{name: "empty from", body: `{"fromMachineVersionId":"","toMachineVersionId":"ver_2"}`, want: badParam("fromMachineVersionId")},
		{name: "to not a string", body: `{"fromMachineVersionId":"ver_1","toMachineVersionId":2}`, want: badParam("toMachineVersionId")},
		{name: "unknown version", body: `{"fromMachineVersionId":"ver_1","toMachineVersionId":"ver_9"}`, want: badParam("toMachineVersionId"), wantText: "does not exist"},
		{name: "version of another machine", body: `{"fromMachineVersionId":"ver_a","toMachineVersionId":"ver_2"}`, want: badParam("fromMachineVersionId"), wantText: "does not exist"},
		{name: "not JSON content type", header: apiHeader("Content-Type", "text/plain"), want: badParam("")},
		{name: "body not an object", body: `["ver_1","ver_2"]`, want: badParam("")},
		{name: "body over 64 KiB", body: bigBody, want: badParam(""), wantText: "larger than"},
		{name: "gzip flag not a boolean", path: "/machines/door/migrations?gzip=yes", want: badParam("gzip")},
		{name: "unknown path", method: "GET", path: "/nothing", want: apiErr{404, "not-found", ""}},
		{name: "wrong method on /machines", method: "GET", path: "/machines", want: apiErr{405, "method-not-allowed", ""}},
		{name: "wrong method", method: "GET", path: "/machines/door/migrations", want: apiErr{405, "method-not-allowed", ""}},
		{name: "forged signed id", method: "PUT", path: forged, want: badParam("signedMachineVersionMigrationId"), wantText: "does not verify"},
		{name: "unsigned id", method: "PUT", path: "/machines/door/migrations/mvm_0123456789abcdef", want: badParam("signedMachineVersionMigrationId"), wantText: "does not verify"},
		{name: "tampered signed id", method: "PUT", path: "/machines/door/migrations/{signed}0", want: badParam("signedMachineVersionMigrationId"), wantText: "does not verify"},
		{name: "finalize before upload", method: "PUT", path: "/machines/door/migrations/{signed}", want: badParam("signedMachineVersionMigrationId"), wantText: "no code was uploaded"},
		{name: "finalize on another machine", method: "PUT", path: "/machines/lamp/migrations/{signed}", want: badParam("signedMachineVersionMigrationId"), wantText: "belongs to"},
		{name: "finalize with a property", method: "PUT", path: "/machines/door/migrations/{signed}", body: `{"clientInfo":"abc"}`, want: badParam("clientInfo")},
		{name: "finalize body not JSON", method: "PUT", path: "/machines/door/migrations/{signed}", body: "done", want: badParam("")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, tc.cfg)
			method, path, header, body := tc.method, tc.path, tc.header, tc.body
			if method == "" && body == "" {
				body = provisionBody
			}
			if method == "" {
				method = "POST"
			}
			if path == "" {
				path = "/machines/door/migrations"
			}
			if header == nil {
				header = apiHeader()
			}
			if strings.Contains(path, "{signed}") {
				path = strings.Replace(path, "{signed}", mustProvision(t, srv.URL, "").ID, 1)
			}
			before := em.Migrations()

			r := mustSend(t, method, srv.URL+path, header, []byte(body))
			got := apiErr{Status: r.status}
			var msg struct{ Error string }
			if err := json.Unmarshal(r.body, &got); err != nil || json.Unmarshal(r.body, &msg) != nil {
				t.Fatalf("answer %q is not JSON: %v", r.body, err)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content-type = %q, want application/json", ct)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer %s mismatch (-want +got):\n%s", r.body, diff)
			}
			if !strings.Contains(msg.Error, tc.wantText) || (r.status != 200 && msg.Error == "") {
				t.Errorf("error text %q, want one containing %q", msg.Error, tc.wantText)
			}
			if reqs := em.Requests(); reqs[len(reqs)-1].Status != r.status {
				t.Errorf("recorded status %d, answered %d", reqs[len(reqs)-1].Status, r.status)
			}
			if diff := cmp.Diff(before, em.Migrations()); r.status != 200 && diff != "" {
				t.Errorf("a rejected request changed the state (-before +after):\n%s", diff)
			}
		})
	}
}

// edit returns a function that applies f to a copy of the parts.
func edit(f func([]part) []part) func([]part) []part {
	return func(ps []part) []part { return f(slices.Clone(ps)) }
}

func without(name string) func([]part) []part {
	return edit(func(ps []part) []part { return slices.DeleteFunc(ps, func(p part) bool { return p.name == name }) })
}

func set(name, value string) func([]part) []part {
	return edit(func(ps []part) []part {
		ps[slices.IndexFunc(ps, func(p part) bool { return p.name == name })].value = value
		return ps
	})
}

func beforeFile(p part) func([]part) []part {
	return edit(func(ps []part) []part { return slices.Insert(ps, len(ps)-1, p) })
}

func withFile(f func(*part)) func([]part) []part {
	return edit(func(ps []part) []part { f(&ps[len(ps)-1]); return ps })
}

// testLimits are small upload limits, so that the tests of how limits
// apply send kilobytes, not megabytes; TestServiceLimits checks the
// defaults.
var testLimits = emulator.Limits{Plain: 20_000, Gzipped: 4_000}

// TestServiceLimits checks that an emulator given no limits presigns the
// service's: the policy's content-length-range.
func TestServiceLimits(t *testing.T) {
	t.Parallel()
	_, srv := newServer(t, emulator.Config{})
	for query, want := range map[string]int{"": 10_000_000, "?gzip": 1_000_000} {
		p := mustProvision(t, srv.URL, query)
		policy, err := base64.StdEncoding.DecodeString(p.Fields["Policy"])
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(policy), fmt.Sprintf(`["content-length-range",1,%d]`, want)) {
			t.Errorf("provision%s: policy %s, want content-length-range 1 to %d", query, policy, want)
		}
	}
}

func TestUpload(t *testing.T) {
	t.Parallel()
	small := gzipped([]byte(code))
	tests := []struct {
		name       string
		gzip       bool
		file       []byte                 // nil means code, gzipped when gzip
		edit       func(ps []part) []part // nil leaves the correct parts
		header     http.Header            // set on the request, over the multipart content type
		bucket     string                 // replaces the bucket in the upload URL when set
		wantStatus int
		wantCode   string
	}{
		{name: "authorization header sent", header: http.Header{"Authorization": {"Bearer " + token}}, wantStatus: 400, wantCode: "InvalidRequest"},
		{name: "not multipart", header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, wantStatus: 412, wantCode: "PreconditionFailed"},
		{name: "unknown bucket", bucket: "other", wantStatus: 404, wantCode: "NoSuchBucket"},
		{name: "key missing", edit: without("key"), wantStatus: 403, wantCode: "AccessDenied"},
		{name: "key changed", edit: set("key", "migrations/door/other.js"), wantStatus: 403, wantCode: "AccessDenied"},
		{name: "X-Amz-Date missing", edit: without("X-Amz-Date"), wantStatus: 403, wantCode: "AccessDenied"},
		{name: "Policy missing", edit: without("Policy"), wantStatus: 403, wantCode: "AccessDenied"},
		{name: "Policy tampered", edit: set("Policy", base64.StdEncoding.EncodeToString([]byte(`{"conditions":[["content-length-range",1,99999999]]}`))), wantStatus: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "signature changed", edit: set("X-Amz-Signature", strings.Repeat("0", 64)), wantStatus: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "field outside the policy", edit: beforeFile(part{name: "x-amz-meta-owner", value: "me"}), wantStatus: 403, wantCode: "AccessDenied"},
		{name: "field twice", edit: beforeFile(part{name: "content-type", value: "application/javascript"}), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "content-type field missing", edit: without("content-type"), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "content-type field wrong", edit: set("content-type", "text/javascript"), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "gzip without content-encoding", gzip: true, edit: without("content-encoding"), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "content-encoding deflate", gzip: true, edit: set("content-encoding", "deflate"), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "content-encoding without gzip", edit: beforeFile(part{name: "content-encoding", value: "gzip"}), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "content-encoding after the file", gzip: true, edit: edit(func(ps []part) []part {
			return append(slices.Delete(ps, len(ps)-2, len(ps)-1), part{name: "content-encoding", value: "gzip"})
		}), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "no file part", edit: without("file"), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "file without filename", edit: withFile(func(p *part) { p.filename = "" }), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "file part not javascript", edit: withFile(func(p *part) { p.ctype = "application/octet-stream" }), wantStatus: 400, wantCode: "InvalidArgument"},
		// Small limits (testLimits): what is tested is how they are applied.
		{name: "gzipped at the limit", gzip: true, file: gzippedSize(t, testLimits.Gzipped), wantStatus: 204},
		{name: "gzipped over the limit", gzip: true, file: gzippedSize(t, testLimits.Gzipped+1), wantStatus: 400, wantCode: "EntityTooLarge"},
		{name: "plain at the limit", file: bytes.Repeat([]byte("x"), testLimits.Plain), wantStatus: 204},
		{name: "plain over the limit", file: bytes.Repeat([]byte("x"), testLimits.Plain+1), wantStatus: 400, wantCode: "EntityTooLarge"},
		{name: "empty file", file: []byte{}, wantStatus: 400, wantCode: "EntityTooSmall"},
		{name: "gzip flag, plain file", gzip: true, file: []byte(code), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "truncated gzip", gzip: true, file: small[:len(small)-4], wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "gzip unzipping to the limit", gzip: true, file: gzipped(make([]byte, testLimits.Plain)), wantStatus: 204},
		{name: "gzip unzipping over the limit", gzip: true, file: gzipped(make([]byte, testLimits.Plain+1)), wantStatus: 400, wantCode: "InvalidArgument"},
		{name: "gzipped file, no gzip flag", file: small, wantStatus: 400, wantCode: "InvalidArgument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, emulator.Config{Limits: testLimits})
			query, file := "", tc.file
			if tc.gzip {
				query = "?gzip"
			}
			if file == nil {
				file = []byte(code)
				if tc.gzip {
					file = small
				}
			}
			p := mustProvision(t, srv.URL, query)
			parts := uploadParts(p, tc.gzip, file)
			if tc.edit != nil {
				parts = tc.edit(parts)
			}
			ct, body := encodeForm(parts)
			header := http.Header{"Content-Type": {ct}}
			for k, v := range tc.header {
				header[k] = v
			}
			url := p.URL
			if tc.bucket != "" {
				url = srv.URL + "/upload/" + tc.bucket
			}

			r := mustSend(t, "POST", url, header, body)
			var got struct {
				XMLName xml.Name `xml:"Error"`
				Code    string
			}
			if r.status != 204 {
				if err := xml.Unmarshal(r.body, &got); err != nil || r.header.Get("Content-Type") != "application/xml" {
					t.Fatalf("answer %q (%s) is not an S3 XML error: %v", r.body, r.header.Get("Content-Type"), err)
				}
			}
			if r.status != tc.wantStatus || got.Code != tc.wantCode {
				t.Errorf("upload = %d %s, want %d %s; body %s", r.status, got.Code, tc.wantStatus, tc.wantCode, r.body)
			}
			wantCode := file
			if tc.wantStatus != 204 {
				wantCode = nil
			}
			if got := em.Migrations()[0].Code; !bytes.Equal(got, wantCode) || (got == nil) != (wantCode == nil) {
				t.Errorf("stored code is %d bytes (nil %t), want %d (nil %t)", len(got), got == nil, len(wantCode), wantCode == nil)
			}
		})
	}
}

// TestNoRecord checks that Config.NoRecord keeps no request, yet serves
// and counts them all, faults included.
func TestNoRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		noRecord bool
		want     []recorded
	}{
		{name: "recorded", want: []recorded{{emulator.StepProvision, "POST", 503}, {emulator.StepProvision, "POST", 200},
			{emulator.StepUpload, "POST", 204}, {emulator.StepFinalize, "PUT", 200}}},
		{name: "not recorded", noRecord: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, emulator.Config{NoRecord: tc.noRecord})
			em.FailNext(emulator.StepProvision, 1, 503, `{"error":"try later","code":"unavailable"}`)
			if r := mustSend(t, "POST", srv.URL+"/machines/door/migrations", apiHeader(), []byte(provisionBody)); r.status != 503 {
				t.Errorf("provision with a fault = %d %s, want 503", r.status, r.body)
			}
			if _, err := deploy(srv.URL, false, []byte(code)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summarize(em.Requests())); diff != "" {
				t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
			}
			if got := em.Served(); got != 4 {
				t.Errorf("Served() = %d, want 4", got)
			}
			if got := em.Migrations(); len(got) != 1 || !got[0].Finalized {
				t.Errorf("Migrations() = %+v, want one, finalized", got)
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		step   emulator.Step
		status int
		body   string
	}{
		{name: "provision, JSON error", step: emulator.StepProvision, status: 503, body: `{"error":"try later","code":"unavailable"}`},
		{name: "upload, HTML error", step: emulator.StepUpload, status: 500, body: "<html><body>Internal Server Error</body></html>"},
		{name: "finalize, empty body", step: emulator.StepFinalize, status: 502, body: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, emulator.Config{})
			em.FailNext(tc.step, 2, tc.status, tc.body)
			var p provisioned
			steps := []struct {
				step emulator.Step
				ok   int
				do   func() (response, error)
			}{
				{emulator.StepProvision, 200, func() (response, error) {
					r, err := send("POST", srv.URL+"/machines/door/migrations", apiHeader(), []byte(provisionBody))
					if r.status == 200 {
						err = json.Unmarshal(r.body, &p)
					}
					return r, err
				}},
				{emulator.StepUpload, 204, func() (response, error) { return upload(p.URL, uploadParts(p, false, []byte(code))) }},
				{emulator.StepFinalize, 200, func() (response, error) { return finalize(srv.URL, p.ID) }},
			}
			var want []recorded
			for _, s := range steps {
				failures := 0
				if s.step == tc.step {
					failures = 2
				}
				for i := range failures + 1 {
					before := em.Migrations()
					r, err := s.do()
					if err != nil {
						t.Fatal(err)
					}
					if i < failures {
						if r.status != tc.status || string(r.body) != tc.body {
							t.Fatalf("%s attempt %d = %d %q, want the injected %d %q", s.step, i+1, r.status, r.body, tc.status, tc.body)
						}
						if diff := cmp.Diff(before, em.Migrations()); diff != "" {
							t.Errorf("an injected failure changed the state (-before +after):\n%s", diff)
						}
						want = append(want, recorded{s.step, methodOf(s.step), tc.status})
						continue
					}
					if r.status != s.ok {
						t.Fatalf("%s attempt %d = %d %s, want %d", s.step, i+1, r.status, r.body, s.ok)
					}
					want = append(want, recorded{s.step, methodOf(s.step), s.ok})
				}
			}
			if diff := cmp.Diff(want, summarize(em.Requests())); diff != "" {
				t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
			}
			if m := em.Migrations(); len(m) != 1 || !m[0].Finalized {
				t.Errorf("Migrations() = %+v, want one finalized migration", m)
			}
		})
	}
}

func methodOf(s emulator.Step) string {
	if s == emulator.StepFinalize {
		return "PUT"
	}
	return "POST"
}

func TestConcurrentDeploys(t *testing.T) {
	t.Parallel()
	em, srv := newServer(t, emulator.Config{})
	const n = 16
	ids := make([]string, n)
	errs := make([]error, n)
	files := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		files[i] = fmt.Appendf(nil, "export const n = %d", i)
		if i%2 == 1 {
			files[i] = gzipped(files[i])
		}
		wg.Go(func() { ids[i], errs[i] = deploy(srv.URL, i%2 == 1, files[i]) })
		wg.Go(func() { _, _ = em.Requests(), em.Migrations() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	got := map[string]emulator.Deploy{}
	for _, m := range em.Migrations() {
		got[m.ID] = m
	}
	for i, id := range ids {
		if m := got[id]; !m.Finalized || !bytes.Equal(m.Code, files[i]) || m.Gzip != (i%2 == 1) {
			t.Errorf("deploy %d: migration %+v, want finalized with its own code", i, m)
		}
	}
	if len(got) != n || len(em.Requests()) != 3*n {
		t.Errorf("%d migrations and %d requests, want %d and %d", len(got), len(em.Requests()), n, 3*n)
	}
}

func TestListen(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.Config{Token: token, Machines: map[string][]string{"door": {"ver_1", "ver_2"}}})
	base, stop, err := em.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deploy(base, true, gzipped([]byte(code))); err != nil {
		t.Fatal(err)
	}
	if p := em.Requests()[1].Path; !strings.HasPrefix(p, "/upload/") {
		t.Errorf("upload went to %q, want the emulator's /upload/ path", p)
	}
	stop()
	if _, err := provision(base, ""); err == nil {
		t.Error("provision after stop succeeded, want a connection error")
	}
}

func TestNewPanics(t *testing.T) {
	t.Parallel()
	machines := map[string][]string{"door": {"ver_1"}}
	tests := []struct {
		name string
		want string // in the panic's text
		cfg  emulator.Config
	}{
		{name: "empty token", want: `Config.Token`, cfg: emulator.Config{Machines: machines}},
		{name: "instances of an unknown machine", want: `Config.Instances names machine "lamp"`, cfg: emulator.Config{Token: token, Machines: machines, Instances: map[string][]string{"lamp": {"bulb"}}}},
		{name: "instance slug with a dot", want: `"front.door"`, cfg: emulator.Config{Token: token, Machines: machines, Instances: map[string][]string{"door": {"front.door"}}}},
		{name: "empty instance slug", want: `Config.Instances["door"] has ""`, cfg: emulator.Config{Token: token, Machines: machines, Instances: map[string][]string{"door": {""}}}},
		{name: "a key in Keys and CIKeys", want: `key "sbk_x" is in both`, cfg: emulator.Config{Token: token, Machines: machines,
			Keys: map[string]string{"sbk_x": "sbsec_1"}, CIKeys: map[string]string{"sbk_y": "sbsec_2", "sbk_x": "sbsec_3"}}},
		{name: "negative page size", want: `Config.PageSize`, cfg: emulator.Config{Token: token, Machines: machines, PageSize: -1}},
		{name: "empty version ID", want: `empty version ID`, cfg: emulator.Config{Token: token, Machines: map[string][]string{"door": {"ver_1", ""}}}},
		{name: "current version of an unknown machine", want: `Config.CurrentVersions names machine "lamp"`, cfg: emulator.Config{Token: token, Machines: machines, CurrentVersions: map[string]string{"lamp": "ver_1"}}},
		{name: "current version not the machine's", want: `Config.CurrentVersions["door"] is "ver_2"`, cfg: emulator.Config{Token: token, Machines: machines, CurrentVersions: map[string]string{"door": "ver_2"}}},
		{name: "client info of an unknown version", want: `Config.VersionClientInfo names version "ver_2"`, cfg: emulator.Config{Token: token, Machines: machines, VersionClientInfo: map[string]string{"ver_2": "abc"}}},
		{name: "instance versions of an unknown machine", want: `Config.InstanceVersions names machine "lamp"`, cfg: emulator.Config{Token: token, Machines: machines, InstanceVersions: map[string]map[string]string{"lamp": {"bulb": "ver_1"}}}},
		{name: "version of an unknown instance", want: `names instance "knob"`, cfg: emulator.Config{Token: token, Machines: machines, InstanceVersions: map[string]map[string]string{"door": {"knob": "ver_1"}}}},
		{name: "instance version not the machine's", want: `Config.InstanceVersions["door"]["knob"] is "ver_2"`, cfg: emulator.Config{Token: token, Machines: machines,
			Instances: map[string][]string{"door": {"knob"}}, InstanceVersions: map[string]map[string]string{"door": {"knob": "ver_2"}}}},
		{name: "paused instances of an unknown machine", want: `Config.PausedInstances names machine "lamp"`, cfg: emulator.Config{Token: token, Machines: machines, PausedInstances: map[string][]string{"lamp": {"bulb"}}}},
		{name: "an unknown instance paused", want: `Config.PausedInstances["door"] names instance "knob"`, cfg: emulator.Config{Token: token, Machines: machines, PausedInstances: map[string][]string{"door": {"knob"}}}},
		{name: "migrations of an unknown machine", want: `Config.Migrations names machine "lamp"`, cfg: emulator.Config{Token: token, Machines: machines, Migrations: map[string][][2]string{"lamp": {{"ver_1", "ver_1"}}}}},
		{name: "migration from an unknown version", want: `Config.Migrations["door"][0][0] is "ver_0"`, cfg: emulator.Config{Token: token, Machines: machines, Migrations: map[string][][2]string{"door": {{"ver_0", "ver_1"}}}}},
		{name: "migration to an unknown version", want: `Config.Migrations["door"][0][1] is "ver_2"`, cfg: emulator.Config{Token: token, Machines: machines, Migrations: map[string][][2]string{"door": {{"ver_1", "ver_2"}}}}},
		{name: "states of an unknown machine", want: `Config.InstanceStates names machine "lamp"`, cfg: emulator.Config{Token: token, Machines: machines,
			InstanceStates: map[string]map[string]emulator.InstanceState{"lamp": {"bulb": {}}}}},
		{name: "state of an unknown instance", want: `Config.InstanceStates["door"] names instance "knob"`, cfg: emulator.Config{Token: token, Machines: machines,
			Instances: map[string][]string{"door": {"bulb"}}, InstanceStates: map[string]map[string]emulator.InstanceState{"door": {"knob": {}}}}},
		{name: "a context that is an array", want: `Config.InstanceStates["door"]["bulb"].Context is [1], which is not a JSON object`, cfg: withState(machines, emulator.InstanceState{Context: json.RawMessage(`[1]`)})},
		{name: "a context that is a string", want: `.Context is "on", which is not a JSON object`, cfg: withState(machines, emulator.InstanceState{Context: json.RawMessage(`"on"`)})},
		{name: "a context that is null", want: `.Context is null, which is not a JSON object`, cfg: withState(machines, emulator.InstanceState{Context: json.RawMessage(`null`)})},
		{name: "a context that is not JSON", want: `.Context is {"a":}, which is not a JSON object`, cfg: withState(machines, emulator.InstanceState{Context: json.RawMessage(`{"a":}`)})},
		{name: "a state that is a number", want: `Config.InstanceStates["door"]["bulb"].State is 1, which is not a StateValue`, cfg: withState(machines, emulator.InstanceState{State: json.RawMessage(`1`)})},
		{name: "a state that is null", want: `.State is null, which is not a StateValue`, cfg: withState(machines, emulator.InstanceState{State: json.RawMessage(`null`)})},
		{name: "a state that is an array", want: `.State is ["a","b"], which is not a StateValue`, cfg: withState(machines, emulator.InstanceState{State: json.RawMessage(`["a","b"]`)})},
		{name: "a child state that is a number", want: `.State is {"a":{"b":1}}, which is not a StateValue`, cfg: withState(machines, emulator.InstanceState{State: json.RawMessage(`{"a":{"b":1}}`)})},
		{name: "a state that is an empty object", want: `.State is {}, which is not a StateValue`, cfg: withState(machines, emulator.InstanceState{State: json.RawMessage(`{}`)})},
		{name: "a default context that is not an object", want: `Config.DefaultInstanceState.Context is true`, cfg: emulator.Config{Token: token, Machines: machines,
			DefaultInstanceState: emulator.InstanceState{Context: json.RawMessage(`true`)}}},
		{name: "a default state that is not a StateValue", want: `Config.DefaultInstanceState.State is false`, cfg: emulator.Config{Token: token, Machines: machines,
			DefaultInstanceState: emulator.InstanceState{State: json.RawMessage(`false`)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if msg := fmt.Sprint(recover()); !strings.Contains(msg, tc.want) {
					t.Errorf("New(%+v) panicked with %q, want a panic naming %s", tc.cfg, msg, tc.want)
				}
			}()
			emulator.New(tc.cfg)
		})
	}
}
