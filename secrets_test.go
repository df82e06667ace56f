package main

import (
	"bytes"
	"mime"
	"mime/multipart"
	"slices"
	"strings"
	"testing"

	"sbdeploy/emulator"
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
	}
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
		{name: "teardown", setup: func(_ *testing.T, h *harness) {
			h.env["INPUT_MODE"] = "teardown"
			h.env["INPUT_CONFIRM-DELETE"] = demoMachine
		}},
		{name: "teardown refused", setup: func(_ *testing.T, h *harness) {
			h.env["INPUT_MODE"] = "teardown"
			h.env["INPUT_CONFIRM-DELETE"] = "yes"
		}},
	}
	for _, step := range []emulator.Step{emulator.StepProvision, emulator.StepUpload, emulator.StepFinalize} {
		scenarios = append(scenarios, scenario{name: "API echoes the token at " + string(step), setup: func(_ *testing.T, h *harness) {
			h.em.FailNext(step, 10, 401, echo)
		}})
	}
	for _, bad := range badInputs {
		scenarios = append(scenarios, scenario{name: "bad input: " + bad.name, setup: bad.setup})
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if sc.keys {
				h = newHarnessWith(t, emulator.Config{Keys: map[string]string{testKeyID: testSecretKey}})
			}
			sc.setup(t, h)
			stdout, stderr, _ := h.run(t, sc.args...)
			// The ::add-mask:: commands come first, and are the only lines
			// that may hold a secret: the runner reads and hides them.
			var masked []string
			for strings.HasPrefix(stdout, "::add-mask::") {
				var line string
				line, stdout, _ = strings.Cut(stdout, "\n")
				masked = append(masked, strings.TrimPrefix(line, "::add-mask::"))
			}
			given := h.env["INPUT_TOKEN"] != "" || h.env["STATEBACKED_TOKEN"] != "" || slices.Contains(sc.args, testToken)
			if given && h.env["GITHUB_ACTIONS"] == "true" && !slices.Contains(masked, testToken) {
				t.Errorf("the token was not masked before the first line of output:\n%s", stdout)
			}
			secrets := append([]string{testToken, testSecretKey}, uploadSecrets(t, h.em)...)
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
func uploadSecrets(t *testing.T, em *emulator.Emulator) []string {
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
