package action

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
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
	teardownMode(h)
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
		fail      func(*testkit.Emu)
		wantErr   string
		outputs   map[string]string // exactly; nil when the run fails
		log       []string
		summary   string
		gone      bool
		// DELETE requests: of the machine, and of instances (at least min,
		// at most max: deletions run in parallel, so a failure may leave
		// some under way).
		machineDeletes               int
		minInstanceDels, maxInstDels int
	}{
		{
			name:    "deletes a machine without instances",
			outputs: map[string]string{"deleted": "true", "deleted-instances": "0"},
			log:     []string{"deleted machine toggle"},
			summary: "| Machine deleted | yes, with all its versions and migrations |",
			gone:    true, machineDeletes: 1,
		},
		{
			name: "a machine already gone succeeds with deleted=false",
			fail: func(e *testkit.Emu) {
				e.FailNext(emulator.StepDeleteMachine, 1, 404, `{"error":"machine not found","code":"not-found"}`)
			},
			outputs: map[string]string{"deleted": "false", "deleted-instances": "0"},
			log:     []string{"::warning::machine toggle does not exist, so nothing was deleted: if a run deleted it before, all is well; otherwise check input machine"},
			summary: "| Result | the machine did not exist: nothing was deleted |", machineDeletes: 1,
		},
		{
			name: "instances exist: fail and explain delete-instances", instances: 2,
			wantErr: "Set delete-instances: true to delete every instance first",
			summary: "Teardown failed", machineDeletes: 1,
		},
		{
			name: "delete-instances over several pages", instances: 8, env: env{"INPUT_DELETE-INSTANCES": "true"},
			outputs: map[string]string{"deleted": "true", "deleted-instances": "8"},
			log:     []string{"deleted machine toggle with its versions and migrations, after deleting 8 instances"},
			summary: "| Instances deleted | 8 |", gone: true,
			machineDeletes: 1, minInstanceDels: 8, maxInstDels: 8,
		},
		{
			name: "an instance deletion fails: stop, count, keep the machine", instances: 5, env: env{"INPUT_DELETE-INSTANCES": "true"},
			fail: func(e *testkit.Emu) {
				e.FailNext(emulator.StepDeleteInstance, 1, 403, `{"error":"no","code":"missing-scope"}`)
			},
			wantErr: "instances, then stopped; the machine was not deleted", summary: "| Machine deleted | no |",
			minInstanceDels: 1, maxInstDels: 3, // the first page: 3 instances
		},
		{
			name: "the machine is gone once its instances are deleted: say so, deleted=false", instances: 2,
			env: env{"INPUT_DELETE-INSTANCES": "true"},
			fail: func(e *testkit.Emu) {
				e.FailNext(emulator.StepDeleteMachine, 1, 404, `{"error":"machine not found","code":"not-found"}`)
			},
			outputs: map[string]string{"deleted": "false", "deleted-instances": "2"},
			log:     []string{"::notice::this run deleted 2 instances, then found machine toggle gone: someone else deleted it meanwhile"},
			summary: "| Machine deleted | no |", machineDeletes: 1, minInstanceDels: 2, maxInstDels: 2,
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
			summary: "| Instances | 1 (dry run: nothing was deleted) |",
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
			if diff := cmp.Diff(tt.outputs, h.outputs(t)); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			for _, line := range tt.log {
				if !strings.Contains(stdout, line) {
					t.Errorf("log lacks %q:\n%s", line, stdout)
				}
			}
			if s := readFile(t, h.summary); !strings.Contains(s, tt.summary) {
				t.Errorf("summary lacks %q:\n%s", tt.summary, s)
			}
			if exists := h.em.HasMachine(demoMachine); exists == tt.gone {
				t.Errorf("machine exists = %v after the run, want %v", exists, !tt.gone)
			}
			counts := steps(h.em)
			machineDeletes, instanceDeletes := 0, 0
			for _, s := range counts {
				switch s {
				case emulator.StepDeleteMachine:
					machineDeletes++
				case emulator.StepDeleteInstance:
					instanceDeletes++
				}
			}
			if machineDeletes != tt.machineDeletes {
				t.Errorf("%d DELETE requests for the machine, want %d", machineDeletes, tt.machineDeletes)
			}
			if instanceDeletes < tt.minInstanceDels || instanceDeletes > tt.maxInstDels {
				t.Errorf("%d DELETE requests for instances, want %d to %d", instanceDeletes, tt.minInstanceDels, tt.maxInstDels)
			}
		})
	}
}
