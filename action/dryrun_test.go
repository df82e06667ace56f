package action

import (
	"net/http"
	"strings"
	"testing"
)

// TestDryRunReads checks that a dry run with credentials asks the API what
// the real run would meet (the token, the machine, the versions it names)
// with read-only requests, fails as the real run would, and sends no write.
func TestDryRunReads(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		env     map[string]string
		wantErr string // "" for success
		want    string // in the log, or in the error
		code    int
	}{
		{"all there", nil, "", "dry run checks\nthe token is accepted\nmachine toggle exists\nthe versions named exist\n", 0},
		{"misspelt machine", map[string]string{"INPUT_MACHINE": "togle"}, "dry run: machine togle does not exist (the real run would fail): check input machine", "", 1},
		{"misspelt version", map[string]string{"INPUT_FROM-VERSION": "ver_toggle_0"}, "dry run: not a version of machine toggle (the real run would fail): input from-version ver_toggle_0", "", 1},
		{"token refused", map[string]string{"INPUT_TOKEN": "sbtest_not_the_token"}, "401 Unauthorized", "the token was rejected", 1},
		{"machine to create", map[string]string{"INPUT_MACHINE": "toggle-pr-1", "INPUT_MODE": "version", "INPUT_FILE": "machines/toggle.ts",
			"INPUT_FROM-VERSION": "", "INPUT_TO-VERSION": "", "INPUT_CREATE-MACHINE": "true"}, "", "machine toggle-pr-1 does not exist: it would be created", 0},
		{"version to create without create-machine", map[string]string{"INPUT_MACHINE": "toggle-pr-1", "INPUT_MODE": "version", "INPUT_FILE": "machines/toggle.ts",
			"INPUT_FROM-VERSION": "", "INPUT_TO-VERSION": ""}, "machine toggle-pr-1 does not exist (the real run would fail): check input machine, or set create-machine: true to create it", "", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.env["INPUT_DRY-RUN"] = "true"
			for k, v := range tt.env {
				h.env[k] = v
			}
			stdout, _, err := h.run(t)
			if ExitCode(err) != tt.code {
				t.Fatalf("exit code %d, want %d: %v\n%s", ExitCode(err), tt.code, err, stdout)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error lacks %q: %v", tt.wantErr, err)
			}
			if tt.want != "" && !strings.Contains(stdout+errText(err), tt.want) {
				t.Errorf("log lacks %q:\n%s", tt.want, stdout)
			}
			reqs := h.em.Requests()
			if len(reqs) == 0 {
				t.Error("no request sent: the dry run checked nothing")
			}
			for _, r := range reqs {
				if r.Method != http.MethodGet {
					t.Errorf("a dry run sent %s %s", r.Method, r.Path)
				}
			}
			if tt.code == 0 && !strings.Contains(stdout, "only read-only requests were sent, and nothing was changed") {
				t.Errorf("the notice does not say what was sent:\n%s", stdout)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
