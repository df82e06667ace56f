package main

import (
	"fmt"
	"strings"
	"testing"

	"sbdeploy/emulator"
)

// newTeardownHarness is a harness whose emulator's machine has n instances,
// listed three to a page, with the inputs of a confirmed teardown.
func newTeardownHarness(t *testing.T, n int) *harness {
	t.Helper()
	instances := make([]string, n)
	for i := range instances {
		instances[i] = fmt.Sprintf("pr-%d-user", i)
	}
	h := newHarnessWith(t, emulator.Config{Instances: map[string][]string{demoMachine: instances}, PageSize: 3})
	h.env["INPUT_MODE"] = "teardown"
	h.env["INPUT_CONFIRM-DELETE"] = demoMachine
	h.env["INPUT_DELETE-INSTANCES"] = "false"
	return h
}

// TestTeardownRefusesWithoutExactConfirmation checks the guard: anything but
// the machine name, to the letter, fails before any request.
func TestTeardownRefusesWithoutExactConfirmation(t *testing.T) {
	t.Parallel()
	for _, confirm := range []string{"", "true", "yes", "y", "TOGGLE", "Toggle", " toggle", "toggle ", "toggle\n", "togg", "toggle2", "*"} {
		t.Run(fmt.Sprintf("%q", confirm), func(t *testing.T) {
			t.Parallel()
			h := newTeardownHarness(t, 0)
			h.env["INPUT_CONFIRM-DELETE"] = confirm
			stdout, _, err := h.run(t)
			if err == nil {
				t.Fatal("teardown ran")
			}
			if !strings.Contains(err.Error(), "input confirm-delete:") || !strings.Contains(err.Error(), "set confirm-delete: toggle") {
				t.Errorf("error does not show the input to set:\n%v", err)
			}
			if n := len(h.em.Requests()); n != 0 {
				t.Errorf("%d requests sent without confirmation", n)
			}
			if !h.em.HasMachine(demoMachine) {
				t.Error("the machine was deleted")
			}
			if out := h.outputs(t); len(out) != 0 {
				t.Errorf("outputs written: %v", out)
			}
			if !strings.Contains(stdout, "::error::") {
				t.Errorf("no error in the log:\n%s", stdout)
			}
		})
	}
}

// TestTeardownConfirmationFlag checks that the flag is compared exactly too.
func TestTeardownConfirmationFlag(t *testing.T) {
	t.Parallel()
	h := newTeardownHarness(t, 0)
	if _, _, err := h.run(t, "--confirm-delete", "toggle "); err == nil {
		t.Fatal("a confirmation with a trailing space was accepted")
	}
	if n := len(h.em.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestTeardown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		instances int
		env       env
		fail      func(*emulator.Emulator)
		wantErr   string
		outputs   map[string]string
		log       []string
		summary   string
		gone      bool
		deletes   int // DELETE requests
	}{
		{
			name:    "deletes a machine without instances",
			outputs: map[string]string{"deleted": "true", "deleted-instances": "0"},
			log:     []string{"deleted machine toggle"},
			summary: "| Machine deleted | yes, with all its versions and migrations |",
			gone:    true, deletes: 1,
		},
		{
			name: "a machine already gone succeeds with deleted=false",
			fail: func(e *emulator.Emulator) {
				e.FailNext(emulator.StepDeleteMachine, 1, 404, `{"error":"machine not found","code":"not-found"}`)
			},
			outputs: map[string]string{"deleted": "false", "deleted-instances": "0"},
			log:     []string{"::notice::machine toggle does not exist"},
			summary: "the machine did not exist", deletes: 1,
		},
		{
			name: "instances exist: fail and explain delete-instances", instances: 2,
			wantErr: "Set delete-instances: true to delete every instance first",
			summary: "Teardown failed", deletes: 1,
		},
		{
			name: "delete-instances over several pages", instances: 8, env: env{"INPUT_DELETE-INSTANCES": "true"},
			outputs: map[string]string{"deleted": "true", "deleted-instances": "8"},
			log:     []string{"deleted 8 of 8 instances", "after deleting 8 instances"},
			summary: "| Instances deleted | 8 |", gone: true, deletes: 9,
		},
		{
			name: "an instance deletion fails: stop, count, keep the machine", instances: 5, env: env{"INPUT_DELETE-INSTANCES": "true"},
			fail: func(e *emulator.Emulator) {
				e.FailNext(emulator.StepDeleteInstance, 1, 403, `{"error":"no","code":"missing-scope"}`)
			},
			wantErr: "the machine was not deleted", summary: "| Machine deleted | no |",
		},
		{
			name: "dry run counts instances and deletes nothing", instances: 7,
			env:     env{"INPUT_DRY-RUN": "true", "INPUT_DELETE-INSTANCES": "true"},
			outputs: map[string]string{"deleted": "false", "deleted-instances": "0"},
			log:     []string{"::notice::dry run: would delete 7 instances, then machine toggle"},
			summary: "| Instances | 7 (dry run: nothing was deleted) |",
		},
		{
			name: "dry run warns that instances would block the delete", instances: 1, env: env{"INPUT_DRY-RUN": "true"},
			outputs: map[string]string{"deleted": "false", "deleted-instances": "0"},
			log:     []string{"deleting it would fail: set delete-instances: true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTeardownHarness(t, tt.instances)
			for k, v := range tt.env {
				h.env[k] = v
			}
			if tt.fail != nil {
				tt.fail(h.em)
			}
			stdout, _, err := h.run(t)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run: %v\n%s", err, stdout)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			got := h.outputs(t)
			if tt.wantErr != "" && len(got) != 0 {
				t.Errorf("outputs written on failure: %v", got)
			}
			for k, v := range tt.outputs {
				if got[k] != v {
					t.Errorf("output %s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			for _, line := range tt.log {
				if !strings.Contains(stdout, line) {
					t.Errorf("log lacks %q:\n%s", line, stdout)
				}
			}
			if s := readFile(t, h.summary); !strings.Contains(s, tt.summary) {
				t.Errorf("summary lacks %q:\n%s", tt.summary, s)
			}
			if h.em.HasMachine(demoMachine) == tt.gone {
				t.Errorf("machine exists = %v, want %v", !tt.gone, !tt.gone)
			}
			deletes := 0
			for _, r := range h.em.Requests() {
				if r.Method == "DELETE" {
					deletes++
				}
			}
			if tt.deletes != 0 && deletes != tt.deletes {
				t.Errorf("%d DELETE requests, want %d", deletes, tt.deletes)
			}
			if strings.HasPrefix(tt.name, "dry run") && deletes != 0 {
				t.Errorf("a dry run sent %d DELETE requests", deletes)
			}
		})
	}
}
