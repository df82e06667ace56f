package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
)

// TestDeletionProof compares with vectors computed independently:
//
//	printf %s "$name" | openssl dgst -sha256 -hmac "$machine" -binary | base64 | tr '+/' '-_' | tr -d '='
func TestDeletionProof(t *testing.T) {
	t.Parallel()
	tests := []struct{ machine, name, want string }{
		{"toggle", "toggle", "n7g_QFPsQI8IZZxTIcNvuLo6HTHCd3Ifi9-AqtDaUuw"},
		{"my-machine_2", "my-machine_2", "WsqPqv93JPhIacuUII7dGoGktzLV3OyCQ_c8oRwfR0M"},
		{"toggle", "user-123", "6Pe89jFe8FhlZpTxavbDsA_yuywgr3Yggf4EUxVrflo"},
		{"pr-42", "pr-42", "W_yf9EUNT1gw4gFsZUB7AZ4bvyyj_cMhxOw7pE75peE"},
	}
	for _, tt := range tests {
		if got := deploy.DeletionProof(tt.machine, tt.name); got != tt.want {
			t.Errorf("DeletionProof(%q, %q) = %q, want %q", tt.machine, tt.name, got, tt.want)
		}
	}
}

func instanceNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("user-%02d", i)
	}
	return names
}

// steps counts the recorded requests of each step.
func steps(em *emulator.Emulator) map[emulator.Step]int {
	n := map[emulator.Step]int{}
	for _, r := range em.Requests() {
		n[r.Step]++
	}
	return n
}

func TestTeardown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		instances int
		machine   string // default "toggle"
		td        deploy.Teardown
		fail      func(*emulator.Emulator)
		want      deploy.TeardownResult
		wantErr   string // a substring; "" for success
		requests  map[emulator.Step]int
		gone      bool // the machine no longer exists afterwards
	}{
		{
			name: "machine without instances",
			want: deploy.TeardownResult{Deleted: true}, gone: true,
			requests: map[emulator.Step]int{emulator.StepDeleteMachine: 1},
		},
		{
			name: "machine already gone", machine: "gone",
			want:     deploy.TeardownResult{AlreadyGone: true},
			requests: map[emulator.Step]int{emulator.StepDeleteMachine: 1}, gone: true,
		},
		{
			name: "instances exist and delete-instances is off", instances: 2,
			wantErr:  "Set delete-instances: true",
			requests: map[emulator.Step]int{emulator.StepDeleteMachine: 1},
		},
		{
			name: "delete-instances over several pages", instances: 7, td: deploy.Teardown{DeleteInstances: true},
			want: deploy.TeardownResult{Listed: true, Instances: 7, DeletedInstances: 7, Deleted: true}, gone: true,
			requests: map[emulator.Step]int{emulator.StepListInstances: 3, emulator.StepDeleteInstance: 7, emulator.StepDeleteMachine: 1},
		},
		{
			name: "dry run lists and deletes nothing", instances: 7, td: deploy.Teardown{DryRun: true, DeleteInstances: true},
			want:     deploy.TeardownResult{Listed: true, Instances: 7},
			requests: map[emulator.Step]int{emulator.StepListInstances: 3},
		},
		{
			name: "dry run of a machine already gone", machine: "gone", td: deploy.Teardown{DryRun: true},
			want:     deploy.TeardownResult{AlreadyGone: true},
			requests: map[emulator.Step]int{emulator.StepListInstances: 1}, gone: true,
		},
		{
			name: "an instance fails: stop, count, keep the machine", instances: 7,
			td: deploy.Teardown{DeleteInstances: true, Workers: 1},
			fail: func(e *emulator.Emulator) {
				e.FailNext(emulator.StepDeleteInstance, 1, 403, `{"error":"no","code":"missing-scope"}`)
			},
			want:     deploy.TeardownResult{Listed: true, Instances: 7},
			wantErr:  "deleted 0 of 7 instances, then stopped; the machine was not deleted",
			requests: map[emulator.Step]int{emulator.StepListInstances: 3, emulator.StepDeleteInstance: 1},
		},
		{
			name: "a rejected proof names the parameter",
			fail: func(e *emulator.Emulator) {
				e.FailNext(emulator.StepDeleteMachine, 1, 400,
					`{"error":"bad","code":"invalid-parameter","parameter":"hmacSha256OfMachineNameWithMachineNameKey"}`)
			},
			wantErr:  `parameter "hmacSha256OfMachineNameWithMachineNameKey"`,
			requests: map[emulator.Step]int{emulator.StepDeleteMachine: 1},
		},
		{
			// The first attempt got no answer; the retry finds the machine
			// gone: the first attempt is what deleted it.
			name: "answer lost, then 404: this run deleted it", machine: "gone",
			fail:     func(e *emulator.Emulator) { e.Inject(emulator.StepDeleteMachine, 1, emulator.Fault{Reset: true}) },
			want:     deploy.TeardownResult{Deleted: true},
			requests: map[emulator.Step]int{emulator.StepDeleteMachine: 2}, gone: true,
		},
		{
			// A 503 means the server did not act: the machine was gone before.
			name: "503, then 404: already gone", machine: "gone",
			fail:     func(e *emulator.Emulator) { e.Inject(emulator.StepDeleteMachine, 1, emulator.Fault{Status: 503}) },
			want:     deploy.TeardownResult{AlreadyGone: true},
			requests: map[emulator.Step]int{emulator.StepDeleteMachine: 2}, gone: true,
		},
		{
			name: "a cursor sent twice stops the listing", td: deploy.Teardown{DeleteInstances: true},
			fail: func(e *emulator.Emulator) {
				e.FailNext(emulator.StepListInstances, 5, 200, `{"instances":[{"slug":"a"}],"cursor":"same"}`)
			},
			wantErr:  `sent cursor "same" twice`,
			requests: map[emulator.Step]int{emulator.StepListInstances: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := newEmulator(t, emulator.Config{
				Machines:  map[string][]string{"toggle": {"ver_1"}},
				Instances: map[string][]string{"toggle": instanceNames(tt.instances)},
				PageSize:  3,
			})
			if tt.fail != nil {
				tt.fail(em)
			}
			td := tt.td
			td.Machine = "toggle"
			if tt.machine != "" {
				td.Machine = tt.machine
			}
			got, err := newClient(t, url).Teardown(context.Background(), td)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Teardown: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.requests, steps(em)); diff != "" {
				t.Errorf("requests per step (-want +got):\n%s", diff)
			}
			if em.HasMachine(td.Machine) == tt.gone {
				t.Errorf("HasMachine(%q) = %v, want %v", td.Machine, em.HasMachine(td.Machine), !tt.gone)
			}
		})
	}
}

// TestDeleteInstancesConcurrently checks that progress counts up one at a
// time, never concurrently, and that every instance is deleted once.
func TestDeleteInstancesConcurrently(t *testing.T) {
	t.Parallel()
	names := instanceNames(40)
	em, url := newEmulator(t, emulator.Config{
		Machines:  map[string][]string{"toggle": {"ver_1"}},
		Instances: map[string][]string{"toggle": names},
	})
	var seen []int
	n, err := newClient(t, url).DeleteInstances(context.Background(), "toggle", names, 6, func(deleted, total int) {
		if total != len(names) {
			t.Errorf("total = %d, want %d", total, len(names))
		}
		seen = append(seen, deleted)
	})
	if err != nil || n != len(names) {
		t.Fatalf("deleted %d, err %v; want %d, nil", n, err, len(names))
	}
	for i, d := range seen {
		if d != i+1 {
			t.Fatalf("progress = %v, want 1, 2, ..., %d", seen, len(names))
		}
	}
	if left := em.Instances("toggle"); len(left) != 0 {
		t.Errorf("instances left: %v", left)
	}
	if got := steps(em)[emulator.StepDeleteInstance]; got != len(names) {
		t.Errorf("%d delete requests, want %d (each instance once)", got, len(names))
	}
}

// TestDeleteInstanceRequest checks the exact body of an instance deletion.
func TestDeleteInstanceRequest(t *testing.T) {
	t.Parallel()
	em, url := newEmulator(t, emulator.Config{
		Machines:  map[string][]string{"toggle": {"ver_1"}},
		Instances: map[string][]string{"toggle": {"user-123"}},
	})
	if err := newClient(t, url).DeleteInstance(context.Background(), "toggle", "user-123"); err != nil {
		t.Fatal(err)
	}
	r := em.Requests()[0]
	want := `{"dangerDataWillBeDeletedForever":true,"hmacSha256OfMachineInstanceNameWithMachineNameKey":"6Pe89jFe8FhlZpTxavbDsA_yuywgr3Yggf4EUxVrflo"}`
	if r.Method != "DELETE" || r.Path != "/machines/toggle/i/user-123" || string(r.Body) != want {
		t.Errorf("request = %s %s %s, want DELETE /machines/toggle/i/user-123 %s", r.Method, r.Path, r.Body, want)
	}
}

func TestTeardownMissingScope(t *testing.T) {
	t.Parallel()
	_, url := newEmulator(t, emulator.Config{Scopes: []string{"machine-versions.write"}})
	_, err := newClient(t, url).Teardown(context.Background(), deploy.Teardown{Machine: "toggle"})
	var apiErr *deploy.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "missing-scope" || !strings.Contains(err.Error(), "machines.admin") {
		t.Fatalf("err = %v, want 403 missing-scope naming machines.admin", err)
	}
}
