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
// token and for the presigned upload's policy and signature. Only the first
// line, the ::add-mask:: command that hides the token, may name it.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	type scenario struct {
		name  string
		setup func(t *testing.T, h *harness)
		args  []string
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
			sc.setup(t, h)
			stdout, stderr, _ := h.run(t, sc.args...)
			given := h.env["INPUT_TOKEN"] != "" || h.env["STATEBACKED_TOKEN"] != "" || slices.Contains(sc.args, testToken)
			mask := "::add-mask::" + testToken + "\n"
			if given && h.env["GITHUB_ACTIONS"] == "true" && !strings.HasPrefix(stdout, mask) {
				t.Errorf("stdout does not start by masking the token:\n%s", stdout)
			}
			stdout = strings.TrimPrefix(stdout, mask)
			secrets := append([]string{testToken}, uploadSecrets(t, h.em)...)
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
