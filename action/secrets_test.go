package action

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// TestNoSecretLeaks runs every scenario, good and bad, and scans everything
// a workflow shows (stdout, stderr, the outputs file, the job summary) for the
// secrets (the token, the secret key, any token minted from it) and for the
// presigned upload's policy and signature. Only the ::add-mask:: commands
// that hide them, before anything else, may name them.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	type scenario struct {
		name  string
		setup func(t *testing.T, h *harness)
		args  []string
		keys  bool // the emulator accepts tokens minted from the test key
		// echoUploads puts the emulator behind an upload host that echoes
		// what it was sent.
		echoUploads bool
		// forbid are pieces of secrets that must not show either.
		forbid []string
	}
	// The token as a server may split or encode it: in two by a line
	// break, and inside a base64 blob at an offset of 8 bytes (2 mod 3),
	// whose characters from 11 to 50 hold only the token's bits.
	half1, half2 := testToken[:len(testToken)/2], testToken[len(testToken)/2:]
	blob := base64.StdEncoding.EncodeToString([]byte(`{"tok":"` + testToken + `"}`))
	echo := `{"error":"token ` + testToken + ` rejected","code":"unauthorized"}`
	scenarios := []scenario{
		{name: "deploy", setup: func(*testing.T, *harness) {}},
		{name: "dry run", setup: set("INPUT_DRY-RUN", "true")},
		{name: "plain CLI", setup: func(_ *testing.T, h *harness) { h.env["GITHUB_ACTIONS"] = "" }},
		{name: "token as a flag", setup: set("INPUT_TOKEN", ""), args: []string{"--token", testToken}},
		{name: "token from STATEBACKED_TOKEN", setup: func(_ *testing.T, h *harness) {
			h.env["INPUT_TOKEN"] = ""
			h.env["STATEBACKED_TOKEN"] = testToken
		}},
		{name: "retried, then deployed", setup: func(_ *testing.T, h *harness) {
			h.em.FailNext(emulator.StepUpload, 2, 503, echo)
		}},
		{name: "expired upload", setup: func(_ *testing.T, h *harness) {
			h.em.FailNext(emulator.StepUpload, 1, 403, "<Error><Code>AccessDenied</Code><Message>"+testToken+"</Message></Error>")
		}},
		{name: "key auth", keys: true, setup: func(_ *testing.T, h *harness) {
			h.env["INPUT_TOKEN"] = ""
			h.env["INPUT_KEY-ID"] = testKeyID
			h.env["INPUT_SECRET-KEY"] = testSecretKey
		}},
		{name: "key auth, API echoes the Authorization header", keys: true, setup: func(_ *testing.T, h *harness) {
			h.env["INPUT_TOKEN"] = ""
			h.env["INPUT_KEY-ID"] = testKeyID
			h.env["INPUT_SECRET-KEY"] = testSecretKey
			h.em.FailNext(emulator.StepFinalize, 10, 400, `{"error":"bad secret `+testSecretKey+`","code":"invalid-parameter"}`)
		}},
		{name: "release", setup: func(_ *testing.T, h *harness) { releaseMode(h) }},
		{name: "token with spaces around it, echoed trimmed", setup: func(_ *testing.T, h *harness) {
			h.env["INPUT_TOKEN"] = ""
			h.env["STATEBACKED_TOKEN"] = " " + testToken + " \t"
			h.em.FailNext(emulator.StepProvision, 10, 401, echo)
		}},
		{name: "plain CLI, API echoes the token", setup: func(_ *testing.T, h *harness) {
			h.env["GITHUB_ACTIONS"] = ""
			h.em.FailNext(emulator.StepFinalize, 10, 401, echo)
		}},
		{name: "plain CLI, API echoes the token escaped and quoted", setup: func(_ *testing.T, h *harness) {
			h.env["GITHUB_ACTIONS"] = ""
			h.em.FailNext(emulator.StepFinalize, 10, 400, `{"error":"token \"`+testToken+`\" for %25 `+testToken+`","code":"x"}`)
		}},
		{name: "finalize answers with the token as the ID", setup: func(_ *testing.T, h *harness) {
			h.em.FailNext(emulator.StepFinalize, 1, 200, `{"machineVersionMigrationId":"`+testToken+`"}`)
		}},
		{name: "API echoes the token split by a line break", forbid: []string{half1, half2}, setup: func(_ *testing.T, h *harness) {
			h.em.FailNext(emulator.StepProvision, 10, 401, `{"error":"token `+half1+`\n`+half2+` rejected","code":"unauthorized"}`)
		}},
		{name: "plain CLI, API echoes the token split by CR LF", forbid: []string{half1, half2}, setup: func(_ *testing.T, h *harness) {
			h.env["GITHUB_ACTIONS"] = ""
			h.em.FailNext(emulator.StepFinalize, 10, 400, `{"error":"token `+half1+`\r\n`+half2+`","code":"x"}`)
		}},
		{name: "API echoes the token in a base64 blob", forbid: []string{blob[11:30], blob[30:50]}, setup: func(_ *testing.T, h *harness) {
			h.em.FailNext(emulator.StepFinalize, 10, 400, `{"error":"request `+blob+` refused","code":"x"}`)
		}},
		{name: "teardown", setup: func(_ *testing.T, h *harness) { teardownMode(h) }},
		{name: "teardown refused", setup: func(_ *testing.T, h *harness) {
			teardownMode(h)
			h.env["INPUT_CONFIRM-DELETE"] = "yes"
		}},
	}
	for _, step := range []emulator.Step{emulator.StepProvision, emulator.StepUpload, emulator.StepFinalize} {
		scenarios = append(scenarios, scenario{name: "API echoes the token at " + string(step), setup: func(_ *testing.T, h *harness) {
			h.em.FailNext(step, 10, 401, echo)
		}})
	}
	scenarios = append(scenarios, scenario{name: "the upload host echoes the policy, signature and credential", echoUploads: true})
	for _, bad := range badInputs {
		scenarios = append(scenarios, scenario{name: "bad input: " + bad.name, setup: bad.setup})
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			var cfg emulator.Config
			if sc.keys {
				cfg.Keys = map[string]string{testKeyID: testSecretKey}
			}
			echo := &uploadEcho{}
			var wrap func(http.Handler) http.Handler
			if sc.echoUploads {
				wrap = echo.wrap
			}
			h := newHarnessBehind(t, cfg, wrap)
			if sc.setup != nil {
				sc.setup(t, h)
			}
			stdout, stderr, _ := h.run(t, sc.args...)
			// The ::add-mask:: commands are the only lines that may hold a
			// secret: the runner reads and hides them. Those of the secrets
			// given come first; those learned from the server (the upload's
			// policy and signature) come as soon as they arrive.
			var masked []string
			var rest []string
			for _, line := range strings.SplitAfter(stdout, "\n") {
				if m, ok := strings.CutPrefix(line, "::add-mask::"); ok {
					masked = append(masked, strings.TrimSuffix(m, "\n"))
					continue
				}
				rest = append(rest, line)
			}
			if given := h.env["INPUT_TOKEN"]; len(given) >= deploy.MinSecretLen && h.env["GITHUB_ACTIONS"] == "true" && !strings.HasPrefix(stdout, "::add-mask::"+given+"\n") {
				t.Errorf("the token was not masked before the first line of output:\n%s", stdout)
			}
			stdout = strings.Join(rest, "")
			given := h.env["INPUT_TOKEN"] == testToken || h.env["STATEBACKED_TOKEN"] == testToken || slices.Contains(sc.args, testToken)
			if given && h.env["GITHUB_ACTIONS"] == "true" && !slices.Contains(masked, testToken) {
				t.Errorf("the token was not masked:\n%s", stdout)
			}
			secrets := append([]string{testToken, testSecretKey}, sc.forbid...)
			secrets = append(secrets, uploadSecrets(t, h.em)...)
			secrets = append(secrets, echo.secrets()...)
			if sc.echoUploads && len(echo.secrets()) != 6 {
				t.Fatalf("the upload host saw %d secrets, want the policy, signature and credential of 2 uploads", len(echo.secrets()))
			}
			for _, r := range h.em.Requests() { // tokens minted from a key, too
				if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && bearer != "" {
					secrets = append(secrets, bearer)
				}
			}
			for where, text := range map[string]string{
				"stdout": stdout, "stderr": stderr, "outputs": readFile(t, h.output), "summary": readFile(t, h.summary),
			} {
				for _, secret := range secrets {
					if strings.Contains(text, secret) {
						t.Errorf("%s contains the secret %.12s...:\n%s", where, secret, text)
					}
				}
			}
		})
	}
}

// uploadSecrets returns the presigned POST's policy and signature, as the
// client sent them to the upload host.
func uploadSecrets(t *testing.T, em *testkit.Emu) []string {
	t.Helper()
	var secrets []string
	for _, r := range em.Requests() {
		if r.Step != emulator.StepUpload {
			continue
		}
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			continue
		}
		mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if name := p.FormName(); strings.EqualFold(name, "policy") || strings.EqualFold(name, "x-amz-signature") {
				var b bytes.Buffer
				_, _ = b.ReadFrom(p)
				secrets = append(secrets, b.String())
			}
		}
	}
	return secrets
}

// uploadEcho is an upload host that refuses every upload with an error that
// repeats the policy, the signature and the credential it was sent, and
// remembers them.
type uploadEcho struct {
	mu   sync.Mutex
	seen []string
}

func (u *uploadEcho) secrets() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.seen)
}

func (u *uploadEcho) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/upload/") {
			next.ServeHTTP(w, r)
			return
		}
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		values := []string{r.FormValue("Policy"), r.FormValue("X-Amz-Signature"), r.FormValue("X-Amz-Credential")}
		u.mu.Lock()
		u.seen = append(u.seen, values...)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "<Error><Code>AccessDenied</Code><Message>policy %s, signature %s, credential %s</Message></Error>",
			values[0], values[1], values[2])
	})
}
