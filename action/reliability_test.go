package action

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// TestFaultMatrix injects each fault once at each step and checks the
// outcome: retried and deployed, or a clear error with no output.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name      string
		fault     testkit.Fault
		retryable bool
		// want is what a 2xx that cannot be used leads to, per step.
		want map[emulator.Step]string
	}{
		{name: "500", fault: testkit.Fault{Status: 500, Body: `{"error":"boom","code":"internal"}`}, retryable: true},
		{name: "502", fault: testkit.Fault{Status: 502}, retryable: true},
		{name: "503", fault: testkit.Fault{Status: 503, Body: `{"error":"busy"}`}, retryable: true},
		{name: "504", fault: testkit.Fault{Status: 504}, retryable: true},
		{name: "429 with Retry-After", fault: testkit.Fault{Status: 429, Header: http.Header{"Retry-After": {"1"}}}, retryable: true},
		{name: "connection reset", fault: testkit.Fault{Reset: true}, retryable: true},
		{name: "hang past the request timeout", fault: testkit.Fault{Hang: true}, retryable: true},
		{name: "HTML error page", fault: testkit.Fault{Status: 502, Body: "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"}, retryable: true},
		{name: "200 with malformed JSON", fault: testkit.Fault{Status: 200, Body: `{"machineVersionMigrationId": "mvm_`}, want: map[emulator.Step]string{
			emulator.StepProvision: "provision response (status 200, application/json) is not the expected JSON",
			emulator.StepFinalize:  "finalize response (status 200, application/json) is not the expected JSON",
		}},
		{name: "200 with an empty body", fault: testkit.Fault{Status: 200}, want: map[emulator.Step]string{
			emulator.StepProvision: "provision response (status 200, no content type) has an empty body",
			emulator.StepFinalize:  "finalize response (status 200, no content type) has an empty body",
		}},
		{name: "10 MB body", fault: testkit.Fault{Status: 200, BodyBytes: 10 << 20}, want: map[emulator.Step]string{
			emulator.StepProvision: "provision response (status 200, text/plain; charset=utf-8) is larger than 1048576 bytes",
			emulator.StepFinalize:  "finalize response (status 200, text/plain; charset=utf-8) is larger than 1048576 bytes",
			// A deletion's answer is read too, for an "error" member: one
			// too large to read cannot be trusted.
			emulator.StepDeleteMachine: "delete-machine response (status 200, text/plain; charset=utf-8) is larger than 1048576 bytes",
		}},
	}
	// An upload answered 200 without storing the code is found out at
	// finalize: the emulator has no code for the migration.
	const notUploaded = "finalize failed: 400 Bad Request (invalid-parameter)"
	steps := []emulator.Step{emulator.StepProvision, emulator.StepUpload, emulator.StepFinalize, emulator.StepDeleteMachine}
	for _, f := range faults {
		for _, step := range steps {
			t.Run(f.name+" at "+string(step), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t)
				if step == emulator.StepDeleteMachine {
					teardownMode(h)
				}
				h.em.Inject(step, 1, f.fault)
				var slept []time.Duration
				h.opts = append(slices.Clone(h.opts), withSleep(func(ctx context.Context, d time.Duration) error {
					slept = append(slept, d)
					return ctx.Err()
				}))
				if f.fault.Hang {
					// The attempt's time limit is what ends a hang: short,
					// and still far above what an answer takes.
					h.opts = append(slices.Clone(h.opts), withRequestTimeout(300*time.Millisecond))
				}
				stdout, _, err := h.run(t)

				want := f.want[step]
				if !f.retryable && step == emulator.StepUpload {
					want = notUploaded
				}
				attempts := 0
				for _, r := range h.em.Requests() {
					if r.Step == step {
						attempts++
					}
				}
				out := h.outputs(t)
				switch {
				case want != "":
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("err = %v, want one containing %q", err, want)
					}
					if attempts != 1 {
						t.Errorf("%d attempts at %s, want 1: a 2xx is not retried", attempts, step)
					}
					if len(out) != 0 {
						t.Errorf("outputs written on failure: %v", out)
					}
				case err != nil:
					t.Fatalf("run: %v\n%s", err, stdout)
				case step == emulator.StepDeleteMachine:
					if out["deleted"] != "true" {
						t.Errorf("outputs = %v, want deleted=true", out)
					}
				default:
					if out["migration-id"] == "" {
						t.Errorf("outputs = %v, want a migration-id", out)
					}
				}
				wantAttempts := 1
				if f.retryable {
					wantAttempts = 2
				}
				if attempts != wantAttempts {
					t.Errorf("%d attempts at %s, want %d", attempts, step, wantAttempts)
				}
				if f.retryable && !strings.Contains(stdout, string(step)+": attempt 1 of 4 failed") {
					t.Errorf("the log does not report the retry:\n%s", stdout)
				}
				if f.fault.Header.Get("Retry-After") == "1" && (!slices.Equal(slept, []time.Duration{time.Second}) || !strings.Contains(stdout, "retrying in 1000.0 ms")) {
					t.Errorf("the retry waited %v, want the 1 s that Retry-After asked for, logged:\n%s", slept, stdout)
				}
			})
		}
	}
}

// TestRetriesRunOut checks that a step failing every attempt gives up after
// the retries input's number of attempts, naming the step and the status.
func TestRetriesRunOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env["INPUT_RETRIES"] = "3"
	h.em.Inject(emulator.StepFinalize, 10, testkit.Fault{Status: 503})
	_, _, err := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts: finalize failed: 503 Service Unavailable") {
		t.Fatalf("err = %v, want finalize giving up after 3 attempts", err)
	}
	if out := h.outputs(t); len(out) != 0 {
		t.Errorf("outputs written: %v", out)
	}
}

// TestRunTimeout checks that a server hanging past the whole run's timeout
// ends in an error naming the step and the timeout input.
func TestRunTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Long enough for the worker to bundle and check under the race
	// detector on a busy machine: the hang must be what the time runs out on.
	h.env["INPUT_TIMEOUT"] = "5s"
	h.em.Inject(emulator.StepProvision, 10, testkit.Fault{Hang: true})
	start := time.Now()
	_, _, err := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "provision") || !strings.Contains(err.Error(), "limited to 5s by input timeout") {
		t.Fatalf("err = %v, want a timeout naming provision and the timeout input", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 9*time.Second {
		t.Errorf("took %v to stop after a 5 s timeout", d)
	}
}
