package deploy_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

const token = testkit.Token

var code = []byte(`export function upgradeState(s){return s}export function upgradeContext(c){return c}`)

// fastRetries makes the tests' retries immediate: the client still works
// out each wait, and does not spend it.
var fastRetries = deploy.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() })

func newClient(t *testing.T, baseURL string, opts ...deploy.Option) *deploy.Client {
	t.Helper()
	c, err := deploy.New(baseURL, token, append([]deploy.Option{fastRetries}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var migration = deploy.Migration{Machine: "toggle", From: "ver_1", To: "ver_2", Code: code}

func TestDeploy(t *testing.T) {
	t.Parallel()
	for _, gzipped := range []bool{true, false} {
		t.Run(map[bool]string{true: "gzipped", false: "plain"}[gzipped], func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, emulator.Config{Orgs: []string{"org_a", "org_b"}})
			c := newClient(t, url, deploy.WithOrgID("org_b"))
			m := migration
			if gzipped {
				m.Code, m.Gzipped = testkit.Gzip(t, code), true
			}
			var steps []deploy.Step
			id, err := c.Deploy(context.Background(), m, func(s deploy.StepDone) { steps = append(steps, s.Step) })
			if err != nil {
				t.Fatal(err)
			}

			if diff := cmp.Diff([]deploy.Step{deploy.StepProvision, deploy.StepUpload, deploy.StepFinalize}, steps); diff != "" {
				t.Errorf("steps reported (-want +got):\n%s", diff)
			}
			migs := em.Migrations()
			if len(migs) != 1 {
				t.Fatalf("emulator has %d migrations, want 1", len(migs))
			}
			got := migs[0]
			if id != got.ID || !got.Finalized || got.Gzip != gzipped || !bytes.Equal(got.Code, m.Code) {
				t.Errorf("id %q, emulator state %+v; want the finalized migration %q with the code sent", id, got, got.ID)
			}

			reqs := em.Requests()
			if len(reqs) != 3 {
				t.Fatalf("%d requests, want exactly 3", len(reqs))
			}
			prov, up, fin := reqs[0], reqs[1], reqs[2]
			wantQuery := map[bool]string{true: "gzip=true", false: ""}[gzipped]
			if prov.Method != "POST" || prov.Path != "/machines/toggle/migrations" || prov.RawQuery != wantQuery {
				t.Errorf("provision = %s %s?%s, want POST /machines/toggle/migrations?%s", prov.Method, prov.Path, prov.RawQuery, wantQuery)
			}
			if diff := cmp.Diff(`{"fromMachineVersionId":"ver_1","toMachineVersionId":"ver_2"}`, string(prov.Body)); diff != "" {
				t.Errorf("provision body must hold only the two IDs (-want +got):\n%s", diff)
			}
			for _, r := range []emulator.Request{prov, fin} {
				if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("x-statebacked-org-id") != "org_b" {
					t.Errorf("%s: missing the bearer token or org header", r.Step)
				}
			}
			if up.Header.Get("Authorization") != "" {
				t.Error("upload carried an Authorization header to the upload host")
			}
			if fin.Method != "PUT" || !strings.HasPrefix(fin.Path, "/machines/toggle/migrations/"+got.ID) || string(fin.Body) != "{}" {
				t.Errorf("finalize = %s %s %q, want PUT .../migrations/<signed id> {}", fin.Method, fin.Path, fin.Body)
			}
			wantParts := []string{"content-type", "file"}
			if gzipped {
				wantParts = []string{"content-type", "content-encoding", "file"}
			}
			parts := formParts(t, up)
			if diff := cmp.Diff(wantParts, parts[len(parts)-len(wantParts):]); diff != "" {
				t.Errorf("upload must end with content-type, content-encoding if gzipped, then file (-want +got):\n%s", diff)
			}
		})
	}
}

// formParts lists the part names of a recorded multipart upload in order.
func formParts(t *testing.T, r emulator.Request) []string {
	t.Helper()
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	var names []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, p.FormName())
	}
}

// TestDeployErrors checks that each answer the API can give becomes
// an *APIError with the facts a caller needs (the step, the status, the API's
// code, parameter and missing scope), and that the flow stops at the failing
// step.
func TestDeployErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      emulator.Config
		token    string
		m        deploy.Migration
		fail     func(*testkit.Emu)
		want     deploy.APIError // Message is not compared
		scope    string          // MissingScope
		text     string          // a substring of the error, besides the step
		requests int
	}{
		{
			name: "wrong token", token: "sbtest_wrong_token",
			want: deploy.APIError{Step: deploy.StepProvision, Status: 401, Code: "unauthorized"}, requests: 1,
		},
		{
			name: "several orgs and no org-id", cfg: emulator.Config{Orgs: []string{"org_a", "org_b"}},
			want: deploy.APIError{Step: deploy.StepProvision, Status: 400, Code: "specify-org"}, requests: 1,
		},
		{
			name: "token without the write scope", cfg: emulator.Config{Scopes: []string{"machines.read"}},
			want: deploy.APIError{Step: deploy.StepProvision, Status: 403, Code: "missing-scope"}, scope: "machine-versions.write", requests: 1,
		},
		{
			name: "unknown machine", m: deploy.Migration{Machine: "nope", From: "ver_1", To: "ver_2"},
			want: deploy.APIError{Step: deploy.StepProvision, Status: 404, Code: "not-found"}, requests: 1,
		},
		{
			name: "unknown version", m: deploy.Migration{Machine: "toggle", From: "ver_9", To: "ver_2"},
			want: deploy.APIError{Step: deploy.StepProvision, Status: 400, Code: "invalid-parameter", Parameter: "fromMachineVersionId"},
			text: `parameter "fromMachineVersionId"`, requests: 1,
		},
		{
			name: "no migration path",
			fail: func(e *testkit.Emu) {
				e.FailNext(emulator.StepProvision, 1, 400, `{"error":"no path","code":"no-migration-path"}`)
			},
			want: deploy.APIError{Step: deploy.StepProvision, Status: 400, Code: "no-migration-path"}, text: "no path", requests: 1,
		},
		{
			name: "server error with an HTML page",
			fail: func(e *testkit.Emu) {
				e.FailNext(emulator.StepProvision, 4, 502, "<!DOCTYPE html><html><body>Bad gateway</body></html>")
			},
			want: deploy.APIError{Step: deploy.StepProvision, Status: 502, HTML: true}, text: "HTML page", requests: 4,
		},
		{
			name: "server error with no body, every attempt",
			fail: func(e *testkit.Emu) { e.FailNext(emulator.StepFinalize, 4, 503, "") },
			want: deploy.APIError{Step: deploy.StepFinalize, Status: 503}, text: "after 4 attempts: finalize failed", requests: 6,
		},
		{
			name: "501 is not retried",
			fail: func(e *testkit.Emu) { e.FailNext(emulator.StepProvision, 4, 501, "") },
			want: deploy.APIError{Step: deploy.StepProvision, Status: 501}, requests: 1,
		},
		{
			name: "upload refused by S3, also after provisioning again",
			fail: func(e *testkit.Emu) {
				e.FailNext(emulator.StepUpload, 2, 403, `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Policy expired</Message></Error>`)
			},
			want: deploy.APIError{Step: deploy.StepUpload, Status: 403, Code: "AccessDenied"}, text: "Policy expired", requests: 4,
		},
		{
			name: "finalize in an invalid state",
			fail: func(e *testkit.Emu) {
				e.FailNext(emulator.StepFinalize, 1, 409, `{"error":"busy","code":"invalid-state"}`)
			},
			want: deploy.APIError{Step: deploy.StepFinalize, Status: 409, Code: "invalid-state"}, requests: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, tt.cfg)
			if tt.fail != nil {
				tt.fail(em)
			}
			tok := token
			if tt.token != "" {
				tok = tt.token
			}
			c, err := deploy.New(url, tok, fastRetries)
			if err != nil {
				t.Fatal(err)
			}
			m := tt.m
			if m.Machine == "" {
				m = migration
			}
			id, err := c.Deploy(context.Background(), m, nil)
			var apiErr *deploy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (id %q), want *deploy.APIError", err, id)
			}
			got := *apiErr
			got.Message = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if !strings.Contains(err.Error(), tt.text) || !strings.Contains(err.Error(), string(tt.want.Step)+" failed") {
				t.Errorf("error %q does not name the step and say %q", err, tt.text)
			}
			if got := apiErr.MissingScope(); got != tt.scope {
				t.Errorf("MissingScope() = %q, want %q", got, tt.scope)
			}
			if n := len(em.Requests()); n != tt.requests {
				t.Errorf("%d requests, want %d (the flow must stop at the failing step)", n, tt.requests)
			}
			if strings.Contains(err.Error(), tok) {
				t.Error("error contains the token")
			}
		})
	}
}

// TestDeployBadResponses checks answers that are 200 but unusable.
func TestDeployBadResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		step emulator.Step
		body string
		want string
	}{
		{"malformed JSON", emulator.StepProvision, `{"machineVersionMigrationId": `, "not the expected JSON"},
		{"empty body", emulator.StepProvision, "", "empty body"},
		{"no upload URL", emulator.StepProvision, `{"machineVersionMigrationId":"mvm_1","codeUploadFields":{}}`, "unusable codeUploadUrl"},
		{"upload URL over plain http to a remote host", emulator.StepProvision,
			`{"machineVersionMigrationId":"mvm_1","codeUploadUrl":"http://example.com/u","codeUploadFields":{}}`, "plain http"},
		{"fields not strings", emulator.StepProvision,
			`{"machineVersionMigrationId":"mvm_1","codeUploadUrl":"https://example.com/u","codeUploadFields":{"a":1}}`, "not a string"},
		{"ID with a newline", emulator.StepFinalize, `{"machineVersionMigrationId":"mvm_1\nmigration-id=evil"}`, "invalid machineVersionMigrationId"},
		{"ID over 512 bytes", emulator.StepFinalize, `{"machineVersionMigrationId":"` + strings.Repeat("a", 513) + `"}`, "invalid machineVersionMigrationId"},
		{"200 that carries an error", emulator.StepFinalize, `{"machineVersionMigrationId":"mvm_1","error":"finalize failed"}`, "carries an error"},
		{"ID under a key of another case", emulator.StepFinalize, `{"MachineVersionMigrationID":"mvm_1"}`, `has "MachineVersionMigrationID" where "machineVersionMigrationId" was expected`},
		{"ID under both spellings", emulator.StepFinalize, `{"machineVersionMigrationId":"mvm_1","machineversionmigrationid":"mvm_2"}`, "where"},
		{"no ID at all", emulator.StepFinalize, `{}`, "invalid machineVersionMigrationId"},
		{"body over 1 MiB", emulator.StepFinalize, `{"machineVersionMigrationId":"` + strings.Repeat("a", 2<<20) + `"}`, "larger than"},
		{"ID that climbs out of the path", emulator.StepFinalize, `{"machineVersionMigrationId":"mvm_x/../../y"}`, "finalize response refused: invalid machineVersionMigrationId"},
		{"ID that is a dot-dot segment", emulator.StepFinalize, `{"machineVersionMigrationId":".."}`, "finalize response refused: invalid machineVersionMigrationId"},
		{"ID that is a dot segment", emulator.StepFinalize, `{"machineVersionMigrationId":"."}`, "finalize response refused: invalid machineVersionMigrationId"},
		{"ID with a percent escape", emulator.StepFinalize, `{"machineVersionMigrationId":"mvm_%2e%2e%2fy"}`, "finalize response refused: invalid machineVersionMigrationId"},
		{"signed ID that climbs out of the path", emulator.StepProvision,
			`{"machineVersionMigrationId":"mvm_1/../../../machines/other","codeUploadUrl":"https://example.com/u","codeUploadFields":{}}`,
			"provision response refused: invalid machineVersionMigrationId"},
		{"upload field that sets the file", emulator.StepProvision,
			`{"machineVersionMigrationId":"mvm_1","codeUploadUrl":"https://example.com/u","codeUploadFields":{"file":"evil code"}}`,
			`provision response refused: codeUploadFields sets "file"`},
		{"upload field given twice", emulator.StepProvision,
			`{"machineVersionMigrationId":"mvm_1","codeUploadUrl":"https://example.com/u","codeUploadFields":{"key":"a","key":"b"}}`,
			`provision response refused: codeUploadFields has the field "key" more than once`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, emulator.Config{})
			em.FailNext(tt.step, 1, 200, tt.body)
			id, err := newClient(t, url).Deploy(context.Background(), migration, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if id != "" {
				t.Errorf("id = %q on failure, want none", id)
			}
		})
	}
}

// TestServerTextHidesSplitSecrets checks that the client's secrets (its
// token, and what a provision answer carried that grants access) are hidden
// in server text before it is cleaned: a secret that the server split with a
// line break, another control or a zero-width character, which cleaning
// would turn into a space or drop, shows neither piece. The token given is
// the emulator's, so the flow reaches each step.
func TestServerTextHidesSplitSecrets(t *testing.T) {
	t.Parallel()
	const secret = "sbtest_Zq9Wv7Ku5Ts3Rp1Yn"
	half1, half2 := secret[:11], secret[11:]
	// The token inside a base64 blob, one byte in, wrapped as MIME wraps.
	blob := base64.StdEncoding.EncodeToString([]byte("{" + secret + "}"))
	tests := []struct {
		name   string
		step   emulator.Step
		status int
		body   string
		forbid []string // besides the halves of the token
	}{
		{name: "JSON error, line feed", step: emulator.StepProvision, status: 401, body: `{"error":"token ` + half1 + `\n` + half2 + ` rejected","code":"unauthorized"}`},
		{name: "JSON error, CR LF", step: emulator.StepProvision, status: 401, body: `{"error":"token ` + half1 + `\r\n` + half2 + ` rejected"}`},
		{name: "JSON error, zero-width space", step: emulator.StepProvision, status: 401, body: `{"error":"token ` + half1 + `\u200b` + half2 + ` rejected"}`},
		{name: "JSON error, line separator", step: emulator.StepProvision, status: 401, body: `{"error":"token ` + half1 + `\u2028` + half2 + ` rejected"}`},
		{name: "code and parameter", step: emulator.StepFinalize, status: 400, body: `{"error":"x","code":"` + half1 + `\n` + half2 + `","parameter":"` + half1 + `\t` + half2 + `"}`},
		{name: "plain text from a proxy", step: emulator.StepFinalize, status: 400, body: "bad token " + half1 + "\r\n" + half2 + "\n"},
		{name: "S3 XML at the upload", step: emulator.StepUpload, status: 400, body: "<Error><Code>InvalidToken</Code><Message>" + half1 + "\n" + half2 + "</Message></Error>"},
		{name: "a 2xx that carries an error", step: emulator.StepFinalize, status: 200, body: `{"error":"` + half1 + `\n` + half2 + `"}`},
		{name: "the finalized ID", step: emulator.StepFinalize, status: 200, body: `{"machineVersionMigrationId":"` + half1 + `\n` + half2 + `"}`},
		{name: "base64 of the token, wrapped", step: emulator.StepFinalize, status: 400, body: `{"error":"request ` + blob[:16] + `\r\n` + blob[16:] + `"}`,
			forbid: []string{blob[2:16], blob[16 : len(blob)-4]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, emulator.Config{Token: secret})
			em.FailNext(tt.step, 10, tt.status, tt.body)
			c, err := deploy.New(url, secret, fastRetries)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Deploy(context.Background(), migration, nil)
			if err == nil || !strings.Contains(err.Error(), "***") {
				t.Fatalf("err = %v, want one with the secret hidden as ***", err)
			}
			for _, piece := range append([]string{half1, half2}, tt.forbid...) {
				if strings.Contains(err.Error(), piece) {
					t.Errorf("error %q shows %q, a piece of the token", err, piece)
				}
			}
		})
	}
}

// TestServerTextHidesSplitUploadSecrets checks the same for a secret the
// client learned from the provision answer: an upload host that echoes the
// presigned policy split by a line break shows neither piece.
func TestServerTextHidesSplitUploadSecrets(t *testing.T) {
	t.Parallel()
	em := testkit.New(emulator.Config{Token: token, Machines: map[string][]string{"toggle": {"ver_1", "ver_2"}}})
	var seen atomic.Value // the policy the upload host got
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/upload/") {
			em.ServeHTTP(w, r)
			return
		}
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		policy := r.FormValue("Policy")
		seen.Store(policy)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<Error><Code>InvalidPolicyDocument</Code><Message>policy %s\n%s</Message></Error>", policy[:len(policy)/2], policy[len(policy)/2:])
	}))
	t.Cleanup(srv.Close)
	_, err := newClient(t, srv.URL).Deploy(context.Background(), migration, nil)
	policy, _ := seen.Load().(string)
	if err == nil || len(policy) < 40 {
		t.Fatalf("err = %v with policy %q, want the upload refused, echoing a policy", err, policy)
	}
	if h1, h2 := policy[:len(policy)/2], policy[len(policy)/2:]; strings.Contains(err.Error(), h1) || strings.Contains(err.Error(), h2) {
		t.Errorf("error %q shows a piece of the policy", err)
	}
}

// TestNoRedirects checks that a redirecting API is an error and that the
// token is not carried to where it points.
func TestNoRedirects(t *testing.T) {
	t.Parallel()
	em, target := testkit.Emulator(t, emulator.Config{})
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	_, err := newClient(t, redirector.URL).Deploy(context.Background(), migration, nil)
	var apiErr *deploy.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want a 307 APIError", err)
	}
	if n := len(em.Requests()); n != 0 {
		t.Errorf("the redirect was followed: the target got %d requests", n)
	}
}

func TestParseBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, err string
	}{
		{in: "https://api.statebacked.dev", want: "https://api.statebacked.dev"},
		{in: "https://staging.example.com/api/", want: "https://staging.example.com/api"},
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "http://[::1]:8080", want: "http://[::1]:8080"},
		{in: "http://localhost", want: "http://localhost"},
		{in: "http://api.statebacked.dev", err: "plain http"},
		{in: "http://10.0.0.1", err: "plain http"},
		{in: "ftp://x", err: "not an absolute https URL"},
		{in: "api.statebacked.dev", err: "not an absolute https URL"},
		{in: "", err: "not an absolute https URL"},
		{in: "https://user:pw@api.statebacked.dev", err: "credentials"},
		{in: "https://api.statebacked.dev?x=1", err: "query"},
		{in: "https://a b", err: "not a URL"},
	}
	for _, tt := range tests {
		u, err := deploy.ParseBaseURL(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseBaseURL(%q) err = %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseBaseURL(%q) err = %v", tt.in, err)
		case tt.err == "" && u.String() != tt.want:
			t.Errorf("ParseBaseURL(%q) = %q, want %q", tt.in, u, tt.want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	if _, err := deploy.New("https://api.statebacked.dev", ""); err == nil {
		t.Error("New accepted an empty token")
	}
	if _, err := deploy.New("https://api.statebacked.dev", token, deploy.WithOrgID("org a")); err == nil {
		t.Error("New accepted an org ID with a space")
	}
}

func TestFieldsKeepOrder(t *testing.T) {
	t.Parallel()
	var f deploy.Fields
	if err := json.Unmarshal([]byte(`{"z":"1","a":"2","m":"3"}`), &f); err != nil {
		t.Fatal(err)
	}
	want := deploy.Fields{{Name: "z", Value: "1"}, {Name: "a", Value: "2"}, {Name: "m", Value: "3"}}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestExpiredUploadProvisionsAgain checks that an upload refused with 403
// (an expired presigned POST) is provisioned again once and then succeeds.
func TestExpiredUploadProvisionsAgain(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, emulator.Config{})
	em.FailNext(emulator.StepUpload, 1, 403, `<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>`)
	var events []deploy.RetryEvent
	c := newClient(t, url, deploy.WithRetryNotify(func(e deploy.RetryEvent) { events = append(events, e) }))
	id, err := c.Deploy(context.Background(), migration, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []emulator.Step
	for _, r := range em.Requests() {
		got = append(got, r.Step)
	}
	want := []emulator.Step{emulator.StepProvision, emulator.StepUpload, emulator.StepProvision, emulator.StepUpload, emulator.StepFinalize}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	migs := em.Migrations()
	if len(migs) != 2 || migs[0].Finalized || !migs[1].Finalized || id != migs[1].ID {
		t.Errorf("migrations %+v, id %q: want the second one finalized and returned", migs, id)
	}
	if len(events) != 1 || !events[0].Reprovision {
		t.Errorf("retry events = %+v, want one Reprovision", events)
	}
}

// TestTLSIsVerified checks that a server whose certificate is not trusted is
// refused at once: no retries, no request reaching the handler.
func TestTLSIsVerified(t *testing.T) {
	t.Parallel()
	em := testkit.New(emulator.Config{Token: token, Machines: map[string][]string{"toggle": {"ver_1", "ver_2"}}})
	srv := httptest.NewUnstartedServer(em)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	srv.StartTLS()                                   // with a self-signed certificate
	t.Cleanup(srv.Close)
	var retries int
	c := newClient(t, srv.URL, deploy.WithRetryNotify(func(deploy.RetryEvent) { retries++ }))
	_, err := c.Deploy(context.Background(), migration, nil)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	if retries != 0 || len(em.Requests()) != 0 {
		t.Errorf("%d retries and %d requests, want none", retries, len(em.Requests()))
	}
}

// TestRetryAfter checks both forms of Retry-After, and that a wait longer
// than the client waits ends the step at once instead of spending the run.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		header   func() string
		attempts int
		err      string
		// minWait and maxWait bound the one wait: what Retry-After asks
		// for, far from the millisecond backoff of these tests.
		minWait, maxWait time.Duration
	}{
		{name: "seconds", header: func() string { return "1" }, attempts: 2, minWait: time.Second, maxWait: time.Second},
		// A date has whole seconds: 3 s from now is 2 to 3 s away when it
		// is made, and at least 1 s when the client reads it.
		{name: "an HTTP date", header: func() string { return time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat) }, attempts: 2,
			minWait: time.Second, maxWait: 3 * time.Second},
		{name: "61 seconds", header: func() string { return "61" }, attempts: 1, err: "asks to wait 1m1s"},
		{name: "a date two hours away", header: func() string { return time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat) }, attempts: 1, err: "asks to wait 1h59m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, emulator.Config{})
			em.Inject(emulator.StepFinalize, 1, testkit.Fault{Status: 429, Header: http.Header{"Retry-After": {tt.header()}}})
			var waits, slept []time.Duration
			c := newClient(t, url, deploy.WithRetryNotify(func(e deploy.RetryEvent) { waits = append(waits, e.Wait) }),
				deploy.WithSleep(func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }))
			_, err := c.Deploy(context.Background(), migration, nil)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if got := steps(em)[emulator.StepFinalize]; got != tt.attempts {
				t.Errorf("%d finalize attempts, want %d", got, tt.attempts)
			}
			if tt.attempts == 2 && (len(waits) != 1 || waits[0] < tt.minWait || waits[0] > tt.maxWait) {
				t.Errorf("waits = %v, want one of %v to %v, from Retry-After", waits, tt.minWait, tt.maxWait)
			}
			if !slices.Equal(slept, waits) {
				t.Errorf("slept %v, want the waits reported, %v", slept, waits)
			}
		})
	}
}

// TestRetryAfterResetsTheBackoff checks that a Retry-After wait replaces
// the backoff's, which then starts again from its first wait. The default
// waits double from 0.5 s with ±50% jitter, so the wait after two 503s, a
// 429 and another 503 is 0.25-0.75 s with the reset and 1-3 s without it.
func TestRetryAfterResetsTheBackoff(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, emulator.Config{})
	em.InjectSequence(emulator.StepFinalize, testkit.Fault{Status: 503}, testkit.Fault{Status: 503},
		testkit.Fault{Status: 429, Header: http.Header{"Retry-After": {"1"}}}, testkit.Fault{Status: 503})
	var slept []time.Duration
	c := newClient(t, url, deploy.WithAttempts(5),
		deploy.WithSleep(func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }))
	if _, err := c.Deploy(context.Background(), migration, nil); err != nil {
		t.Fatal(err)
	}
	within := func(d, lo, hi time.Duration) bool { return d >= lo && d <= hi }
	if len(slept) != 4 || !within(slept[0], 250*time.Millisecond, 750*time.Millisecond) || !within(slept[1], 500*time.Millisecond, 1500*time.Millisecond) ||
		slept[2] != time.Second || !within(slept[3], 250*time.Millisecond, 750*time.Millisecond) {
		t.Errorf("waits %v, want 0.25-0.75 s, 0.5-1.5 s, the 1 s Retry-After asks for, then 0.25-0.75 s again", slept)
	}
}

// TestUploadSecretsAreReported checks that the presigned POST's policy,
// signature and credential reach the secret callback before the upload, so
// a caller can hide them in anything it prints.
func TestUploadSecretsAreReported(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, emulator.Config{})
	var secrets []string
	var uploads int
	c := newClient(t, url, deploy.WithSecretNotify(func(s string) {
		if uploads = len(em.Requests()) - 1; uploads != 0 {
			t.Errorf("a secret was reported after %d more requests, want before the upload", uploads)
		}
		secrets = append(secrets, s)
	}))
	if _, err := c.Deploy(context.Background(), migration, nil); err != nil {
		t.Fatal(err)
	}
	fields := formFields(t, em.Requests()[1])
	want := []string{fields["X-Amz-Credential"], fields["Policy"], fields["X-Amz-Signature"]}
	slices.Sort(want)
	slices.Sort(secrets)
	if diff := cmp.Diff(want, secrets); diff != "" {
		t.Errorf("secrets reported (-want +got):\n%s", diff)
	}
}

// TestUploadURLIsNeverPrinted checks that an upload URL with credentials or
// a signature in its query is refused without repeating either, and that
// both were reported as secrets.
func TestUploadURLIsNeverPrinted(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, emulator.Config{})
	for _, upload := range []string{
		"https://uploader:pa55w0rd-secret@example.com/bucket",
		"https://example.com/bucket?X-Amz-Signature=s1gnature-secret",
	} {
		em.FailNext(emulator.StepProvision, 1, 200, `{"machineVersionMigrationId":"mvm_1","codeUploadUrl":"`+upload+`","codeUploadFields":{}}`)
		var secrets []string
		_, err := newClient(t, url, deploy.WithSecretNotify(func(s string) { secrets = append(secrets, s) })).Deploy(context.Background(), migration, nil)
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("err = %v, want a refusal that does not repeat the secret", err)
		}
		if len(secrets) != 1 || !strings.HasSuffix(secrets[0], "-secret") {
			t.Errorf("secrets reported = %q, want the one in %s", secrets, upload)
		}
	}
}

// formFields returns the fields of a recorded multipart upload by name.
func formFields(t *testing.T, r emulator.Request) map[string]string {
	t.Helper()
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return fields
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		fields[p.FormName()] = string(b)
	}
}

// TestSuccessThatSaysItFailed checks that a 2xx answer with an "error"
// member is a failure for every request, also those whose answer carries
// nothing else: a deletion, a move, a lookup, a creation.
func TestSuccessThatSaysItFailed(t *testing.T) {
	t.Parallel()
	const refusal = `{"error":"deletion refused \u002d quota"}`
	tests := []struct {
		name string
		step emulator.Step
		call func(*deploy.Client) error
	}{
		{"delete machine", emulator.StepDeleteMachine, func(c *deploy.Client) error { return c.DeleteMachine(context.Background(), "toggle") }},
		{"delete instance", emulator.StepDeleteInstance, func(c *deploy.Client) error {
			return c.DeleteInstance(context.Background(), "toggle", "user-1")
		}},
		{"move an instance", emulator.StepSetInstanceVersion, func(c *deploy.Client) error {
			_, err := c.Rollout(context.Background(), deploy.Rollout{Machine: "toggle", To: "ver_2"})
			return err
		}},
		{"look a machine up", emulator.StepGetMachine, func(c *deploy.Client) error {
			_, err := c.EnsureMachine(context.Background(), "toggle", nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, emulator.Config{Instances: map[string][]string{"toggle": {"user-1"}}})
			em.FailNext(tt.step, 1, 200, refusal)
			err := tt.call(newClient(t, url))
			var bad *deploy.BadResponseError
			if !errors.As(err, &bad) || !strings.Contains(err.Error(), "carries an error: deletion refused - quota") {
				t.Fatalf("err = %v, want a BadResponseError quoting the decoded error", err)
			}
		})
	}
}
