package action

import (
	"os"
	"strings"
	"testing"
)

// TestSummarySaysWhatHappened checks the job summary against what each run
// did: nothing is called uploaded that was not, a failed build carries its
// errors at their place and what to do, and the commit and the run's page
// are named.
func TestSummarySaysWhatHappened(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		setup   func(t *testing.T, h *harness)
		fails   bool
		want    []string
		without []string
	}{
		{"dry run", set("INPUT_DRY-RUN", "true"), false, []string{
			"### StateBacked: Dry run: nothing was changed",
			"| Checked (read-only) | the token is accepted; machine toggle exists; the versions named exist |",
			"| Bundle (migration) | `app/migrations/toggle-v1-to-v2.ts`: 295 bytes minified, 230 bytes gzipped, 230 bytes to upload (dry run: not sent); SHA-256 `",
			"| Times (migration) | bundle ",
		}, []string{"bytes uploaded", "provision"}},
		{"build failure", func(t *testing.T, h *harness) {
			h.write(t, "app/uses-zod.ts", "import { z } from \"zod\";\nexport const upgradeState = (s: unknown) => z.any().parse(s), upgradeContext = (c: unknown) => c;\n")
			h.env["INPUT_FILE"] = "uses-zod.ts"
		}, true, []string{
			"| Error | `bundle of the migration app/uses-zod.ts failed with 1 error(s) (annotated at their place above)` |",
			"|  | `app/uses-zod.ts:1:19: Could not resolve \"zod\"` |",
			"| What to do | install the app's packages before this step",
		}, []string{"Bundle (migration)", "uploaded"}},
		{"reused version", func(t *testing.T, h *harness) {
			versionMode(h)
			h.env["INPUT_REUSE-VERSION"] = "true"
			h.env["INPUT_CLIENT-INFO"] = "v1.0.0"
			if _, _, err := h.run(t); err != nil {
				t.Fatal(err)
			}
		}, false, []string{
			"| Client info | `v1.0.0` |",
			"| Bundle (machine version) | `app/machines/toggle.ts`: 585 bytes minified, 378 bytes gzipped, not uploaded (the version was reused); SHA-256",
			"| Times (machine version) | bundle ",
		}, []string{"bytes uploaded", "provision"}},
		{"commit and run", func(t *testing.T, h *harness) {
			h.env["GITHUB_SHA"] = "0123abcd"
			h.env["GITHUB_SERVER_URL"] = "https://github.example"
			h.env["GITHUB_REPOSITORY"] = "acme/app"
			h.env["GITHUB_RUN_ID"] = "77"
			h.env["GITHUB_RUN_ATTEMPT"] = "2"
		}, false, []string{
			"| Commit | `0123abcd` |",
			"| Run | [workflow run](https://github.example/acme/app/actions/runs/77/attempts/2) |",
			"| Bundle (migration) | `app/migrations/toggle-v1-to-v2.ts`: 295 bytes minified, 230 bytes gzipped, 230 bytes uploaded; SHA-256",
			"| Times (migration) | bundle ", ", provision ", ", upload ", ", finalize ",
		}, nil},
		{"run link from a hostile repository name", func(t *testing.T, h *harness) {
			h.env["GITHUB_SERVER_URL"] = "https://github.example"
			h.env["GITHUB_REPOSITORY"] = "acme/app)[x](javascript:alert(1)"
			h.env["GITHUB_RUN_ID"] = "77"
		}, false, nil, []string{"| Run |", "javascript"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			tt.setup(t, h)
			if err := os.WriteFile(h.summary, nil, 0o644); err != nil { // a setup's own run wrote to it
				t.Fatal(err)
			}
			_, _, err := h.run(t)
			if (err != nil) != tt.fails {
				t.Fatalf("err = %v, want failure: %t", err, tt.fails)
			}
			summary := readFile(t, h.summary)
			for _, w := range tt.want {
				if !strings.Contains(summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, summary)
				}
			}
			for _, w := range tt.without {
				if strings.Contains(summary, w) {
					t.Errorf("summary says %q:\n%s", w, summary)
				}
			}
		})
	}
}
