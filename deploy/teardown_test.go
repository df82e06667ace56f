package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
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
func steps(em *testkit.Emu) map[emulator.Step]int {
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
		fail      func(*testkit.Emu)
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
			wantErr:  "409 Conflict (invalid-state)",
			requests: map[emulator.Step]int{emulator.StepDeleteMachine: 1},
		},
		{
			name: "delete-instances over several pages", instances: 7, td: deploy.Teardown{DeleteInstances: true},
			want: deploy.TeardownResult{Instances: 7, DeletedInstances: 7, Deleted: true}, gone: true,
			requests: map[emulator.Step]int{emulator.StepListInstances: 3, emulator.StepDeleteInstance: 7, emulator.StepDeleteMachine: 1},
		},
		{
			name: "dry run lists and deletes nothing", instances: 7, td: deploy.Teardown{DryRun: true, DeleteInstances: true},
			want:     deploy.TeardownResult{Instances: 7},
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
			fail: func(e *testkit.Emu) {
				e.FailNext(emulator.StepDeleteInstance, 1, 403, `{"error":"no","code":"missing-scope"}`)
			},
			// Pages are worked on as they come: the first failure ends the
			// teardown on the first page.
			want:     deploy.TeardownResult{Instances: 3},
			wantErr:  "deleted 0 instances, then stopped; the machine was not deleted",
			requests: map[emulator.Step]int{emulator.StepListInstances: 1, emulator.StepDeleteInstance: 1},
		},
		{
			name: "a rejected proof names the parameter",
			fail: func(e *testkit.Emu) {
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
			fail:     func(e *testkit.Emu) { e.Inject(emulator.StepDeleteMachine, 1, testkit.Fault{Reset: true}) },
			want:     deploy.TeardownResult{Deleted: true},
			requests: map[emulator.Step]int{emulator.StepDeleteMachine: 2}, gone: true,
		},
		{
			// A 503 means the server did not act: the machine was gone before.
			name: "503, then 404: already gone", machine: "gone",
			fail:     func(e *testkit.Emu) { e.Inject(emulator.StepDeleteMachine, 1, testkit.Fault{Status: 503}) },
			want:     deploy.TeardownResult{AlreadyGone: true},
			requests: map[emulator.Step]int{emulator.StepDeleteMachine: 2}, gone: true,
		},
		{
			// A 404 to an instance's deletion means it was gone already:
			// not counted. It is still listed, so the machine's deletion is
			// refused (409); a second pass finds it and deletes it.
			name: "404 on an instance is not counted; a second pass deletes it", instances: 2,
			td: deploy.Teardown{DeleteInstances: true, Workers: 1},
			fail: func(e *testkit.Emu) {
				e.FailNext(emulator.StepDeleteInstance, 1, 404, `{"error":"instance not found","code":"not-found"}`)
			},
			want: deploy.TeardownResult{Instances: 3, DeletedInstances: 2, Deleted: true}, gone: true,
			requests: map[emulator.Step]int{emulator.StepListInstances: 2, emulator.StepDeleteInstance: 3, emulator.StepDeleteMachine: 2},
		},
		{
			name: "a cursor sent twice stops the listing", td: deploy.Teardown{DeleteInstances: true},
			fail: func(e *testkit.Emu) {
				e.FailNext(emulator.StepListInstances, 5, 200, `{"instances":[{"slug":"a"}],"cursor":"same"}`)
			},
			want:     deploy.TeardownResult{Instances: 1},
			wantErr:  `sent cursor "same" twice`,
			requests: map[emulator.Step]int{emulator.StepListInstances: 2, emulator.StepDeleteInstance: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, emulator.Config{
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

// TestDeleteInstancesConcurrently checks that a teardown's deletions run
// with exactly the number of workers asked for (really that many at once,
// and no more), that progress is reported one deletion at a time, and that
// every instance is deleted once. The instances fit on one page.
//
// The server holds each deletion until as many as the workers are held (or
// as many as are left), then lets them through together, so a client that
// runs the workers asked for has exactly that many in flight at once, and
// the test waits on no clock. A client that ran fewer would never fill a
// batch: the hold then fails the test after 10 s. A deletion beyond the
// workers is counted if it arrives before those let through are answered.
func TestDeleteInstancesConcurrently(t *testing.T) {
	t.Parallel()
	const workers = 6
	names := instanceNames(40)
	em := testkit.New(emulator.Config{Token: token,
		Machines:  map[string][]string{"toggle": {"ver_1"}},
		Instances: map[string][]string{"toggle": names},
	})
	var (
		mu             sync.Mutex
		inFlight, peak int                   // deletions arrived and not yet answered
		held           int                   // of them, those in the batch being filled
		left           = len(names)          // deletions not yet let through
		batch          = make(chan struct{}) // closed to let the batch being filled through
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodDelete || !strings.Contains(r.URL.Path, "/i/") {
			em.ServeHTTP(w, r) // the listing and the machine's deletion
			return
		}
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		held++
		through := batch
		if held == min(workers, left) {
			close(batch)
			batch, left, held = make(chan struct{}), left-held, 0
		}
		mu.Unlock()
		rec := httptest.NewRecorder()
		select {
		case <-through:
			em.ServeHTTP(rec, r)
		case <-time.After(10 * time.Second):
			t.Errorf("a deletion was held 10 s: fewer than %d were in flight at once", workers)
			rec.WriteHeader(http.StatusBadRequest) // not retried
		}
		// Answered: the client sees the answer only after this.
		mu.Lock()
		inFlight--
		mu.Unlock()
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	progress := 0 // not synchronized: the race detector fails the test if progress runs concurrently
	res, err := newClient(t, srv.URL).Teardown(context.Background(), deploy.Teardown{Machine: "toggle", DeleteInstances: true, Workers: workers,
		Progress: func(deleted int) { progress++ }})
	if err != nil || res.DeletedInstances != len(names) || progress != len(names) || !res.Deleted {
		t.Fatalf("result %+v (progress %d), err %v; want %d deleted, then the machine", res, progress, err, len(names))
	}
	mu.Lock()
	defer mu.Unlock()
	if peak != workers {
		t.Errorf("at most %d deletions were in flight at once, want exactly %d", peak, workers)
	}
	if left := em.Instances("toggle"); len(left) != 0 {
		t.Errorf("instances left: %v", left)
	}
	if got := steps(em)[emulator.StepDeleteInstance]; got != len(names) {
		t.Errorf("%d delete requests, want %d (each instance once)", got, len(names))
	}
}

// TestTeardownMachineVanishes checks that a 404 after the first page of the
// listing is an error (someone else deleted the machine mid-run), not "the
// machine does not exist".
func TestTeardownMachineVanishes(t *testing.T) {
	t.Parallel()
	for _, dryRun := range []bool{true, false} {
		t.Run(fmt.Sprintf("dry run %v", dryRun), func(t *testing.T) {
			t.Parallel()
			em := testkit.New(emulator.Config{Token: token, PageSize: 2,
				Machines:  map[string][]string{"toggle": {"ver_1"}},
				Instances: map[string][]string{"toggle": instanceNames(5)},
			})
			var lists atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/i") && lists.Add(1) == 2 {
					http.Error(w, `{"error":"machine not found","code":"not-found"}`, http.StatusNotFound)
					return
				}
				em.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			res, err := newClient(t, srv.URL).Teardown(context.Background(), deploy.Teardown{Machine: "toggle", DeleteInstances: true, DryRun: dryRun})
			if !errors.Is(err, deploy.ErrMachineVanished) || res.AlreadyGone || res.Deleted {
				t.Fatalf("result %+v, err %v; want ErrMachineVanished, not gone, not deleted", res, err)
			}
		})
	}
}

// TestDeleteInstanceRequest checks the exact body of an instance deletion.
func TestDeleteInstanceRequest(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, emulator.Config{
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
	_, url := testkit.Emulator(t, emulator.Config{Scopes: []string{"machine-versions.write"}})
	_, err := newClient(t, url).Teardown(context.Background(), deploy.Teardown{Machine: "toggle"})
	var apiErr *deploy.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "missing-scope" || apiErr.MissingScope() != "machines.admin" {
		t.Fatalf("err = %v, want 403 missing-scope naming machines.admin", err)
	}
}

// TestListingMemoryIsBounded lists a machine whose server pages 10,000
// instances with names of about 45 characters, 250 a page. As each page
// after the first is asked for, the server collects garbage and reads the
// live heap: what the listing holds between pages. That must stay under
// 256 KB above the start, which a listing that kept every name, or every
// page, goes past (BENCHMARKS.md, The test suite). It does not run in
// parallel, so the heap is this test's.
func TestListingMemoryIsBounded(t *testing.T) {
	const perPage, pages = 250, 40
	padding := strings.Repeat("i", 40) // then the instance's number: names of 41 to 45 characters
	var peak atomic.Uint64             // live heap bytes, read by the handler while Teardown waits
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		if page > 0 { // the client waits for this page, holding what it keeps
			runtime.GC()
			peak.Store(max(peak.Load(), heapBytes()))
		}
		w.Header().Set("Content-Type", "application/json")
		b := make([]byte, 0, perPage*128)
		b = append(b, `{"instances":[`...)
		for i := range perPage {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"slug":"`...)
			b = append(b, padding...)
			b = strconv.AppendInt(b, int64(page*perPage+i), 10)
			b = append(b, `"}`...)
		}
		b = append(b, ']')
		if page+1 < pages {
			b = append(b, `,"cursor":"`...)
			b = strconv.AppendInt(b, int64(page+1), 10)
			b = append(b, '"')
		}
		b = append(b, '}')
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	client := newClient(t, srv.URL)
	runtime.GC()
	base := heapBytes()
	res, err := client.Teardown(context.Background(), deploy.Teardown{Machine: "big", DryRun: true})
	if err != nil || res.Instances != perPage*pages {
		t.Fatalf("result %+v, err %v; want %d instances counted", res, err, perPage*pages)
	}
	if grew := peak.Load() - min(base, peak.Load()); grew > 256<<10 {
		t.Errorf("the listing held %d KB more between pages, want under 256 KB", grew>>10)
	}
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
