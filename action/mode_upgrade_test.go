package action

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// TestMaxConcurrencyInput checks the input's bounds, that only mode upgrade
// takes it, and that it bounds the requests in flight: the server holds
// each request to move for a moment, and counts how many it holds at once.
func TestMaxConcurrencyInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value, mode string
		code              int
		want              string // in the error; "" for none
	}{
		{"zero", "0", "upgrade", 2, `input max-concurrency: "0" is not a number from 1 to 256`},
		{"over 256", "257", "upgrade", 2, `input max-concurrency: "257" is not a number from 1 to 256`},
		{"not a number", "lots", "upgrade", 2, `input max-concurrency: "lots" is not a number from 1 to 256`},
		{"another mode", "4", "teardown", 2, "input max-concurrency: not used by mode teardown"},
		{"no rollout", "4", "migration", 2, "input max-concurrency: bounds the requests of a rollout, which this run does not do: set upgrade-instances: true"},
		{"one", "1", "upgrade", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var held, most int
			h := rolloutHarnessBehind(t, 5, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPut {
						mu.Lock()
						held++
						most = max(most, held)
						mu.Unlock()
						time.Sleep(20 * time.Millisecond) // so that requests let through together overlap
						defer func() { mu.Lock(); held--; mu.Unlock() }()
					}
					next.ServeHTTP(w, r)
				})
			})
			if tt.mode == "upgrade" {
				upgradeMode(h)
			} else {
				h.env["INPUT_MODE"] = tt.mode
			}
			h.env["INPUT_MAX-CONCURRENCY"] = tt.value
			_, _, err := h.run(t)
			if code := ExitCode(err); code != tt.code || tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("exit code %d, err %v; want %d and %q", code, err, tt.code, tt.want)
			}
			if tt.code != 0 {
				if n := h.em.Served(); n != 0 {
					t.Errorf("%d requests sent, want none", n)
				}
				return
			}
			if len(moved(h.em)) != 5 || most != 1 {
				t.Errorf("%d instances asked, at most %d at once; want 5, one at a time", len(moved(h.em)), most)
			}
		})
	}
}

// rolloutHarnessBehind is a harness whose machine has n instances on
// demoFrom, from which a migration leads to demoTo, behind wrap.
func rolloutHarnessBehind(t *testing.T, n int, wrap func(http.Handler) http.Handler) *harness {
	t.Helper()
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("from-%02d", i))
	}
	return newHarnessBehind(t, emulator.Config{
		Machines:   map[string][]string{demoMachine: {demoFrom, demoTo}},
		Instances:  map[string][]string{demoMachine: names},
		Migrations: map[string][][2]string{demoMachine: {{demoFrom, demoTo}}},
	}, wrap)
}

// TestUpgradeFailedInstances makes every attempt for the first instance
// fail: it is named as failed, the others are still asked, the outputs are
// written and the summary adds up, and the step fails.
func TestUpgradeFailedInstances(t *testing.T) {
	t.Parallel()
	h := rolloutHarness(t, 5, 1, 2)
	upgradeMode(h)
	h.env["INPUT_RETRIES"] = "2"
	h.env["INPUT_MAX-CONCURRENCY"] = "1"
	h.em.Inject(emulator.StepSetInstanceVersion, 2, testkit.Fault{Status: 503})
	stdout, _, err := h.run(t)
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "the rollout to ver_toggle_2 asked every other instance; 1 instances could not be asked to move after their retries") {
		t.Fatalf("err = %v (exit code %d), want exit 1 saying 1 failed", err, ExitCode(err))
	}
	if diff := cmp.Diff(wantMoved(demoTo, "from-00", "from-00", "from-01", "from-02", "from-03", "from-04", "stuck-00", "stuck-01"), moved(h.em)); diff != "" {
		t.Errorf("instances asked to move (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"upgraded-instances": "4", "stranded-instances": "2", "failed-instances": "1"}, h.outputs(t)); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if !strings.Contains(stdout, "::warning::1 instances could not be asked to move to ver_toggle_2, every attempt failed: from-00") {
		t.Errorf("no warning naming the failed instance:\n%s", stdout)
	}
	summary := readFile(t, h.summary)
	hasAll(t, "summary", summary,
		"| Instances | 8 listed: 4 asked to move to `ver_toggle_2`, 1 on it already, 2 stranded (no migration path) |",
		"| Failed (every attempt) | 1: from-00 |",
		"8 requests, 0 answered 429 (longest pause 0s), 2 answered 503; at most 1 in flight |",
	)
}

// TestUpgradeSaysHowItGoes checks the progress lines, every two seconds of
// the run's clock, and the line that counts the instances skipped.
func TestUpgradeSaysHowItGoes(t *testing.T) {
	t.Parallel()
	h := rolloutHarness(t, 3, 2, 0)
	upgradeMode(h)
	h.env["INPUT_MAX-CONCURRENCY"] = "1"
	var mu sync.Mutex
	clock := time.Unix(0, 0)
	h.opts = append(h.opts, withClock(func() time.Time { // each reading a second later
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}))
	stdout, _, err := h.run(t)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout)
	}
	hasAll(t, "log", stdout,
		"2 instances asked so far (0 a second), 0 in flight, 0 stranded, 0 failed",
		"skipped 2 instances already on ver_toggle_2",
	)
}
