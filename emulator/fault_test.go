package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// call is one valid request of a step.
type call struct {
	step         emulator.Step
	method, path string
	header       http.Header
	body         []byte
	ok           int // the status answered when no fault applies
}

func (c call) do(client *http.Client, base string) (response, error) {
	return sendWith(client, c.method, base+c.path, c.header.Clone(), c.body)
}

// callOf returns a valid request of step, after making the requests of the
// steps before it.
func callOf(t *testing.T, base string, step emulator.Step) call {
	t.Helper()
	switch step {
	case emulator.StepProvision:
		return call{step, "POST", "/machines/door/migrations", apiHeader(), []byte(provisionBody), 200}
	case emulator.StepUpload:
		p := mustProvision(t, base, "")
		ct, body := encodeForm(uploadParts(p, false, []byte(code)))
		return call{step, "POST", strings.TrimPrefix(p.URL, base), http.Header{"Content-Type": {ct}}, body, 204}
	case emulator.StepFinalize:
		p := mustProvision(t, base, "")
		if r, err := upload(p.URL, uploadParts(p, false, []byte(code))); err != nil || r.status != 204 {
			t.Fatalf("upload = %d %s %v", r.status, r.body, err)
		}
		return call{step, "PUT", "/machines/door/migrations/" + p.ID, apiHeader(), nil, 200}
	case emulator.StepDeleteMachine:
		return call{step, "DELETE", "/machines/door", apiHeader(), []byte(machineBody(macOf("door", "door"))), 204}
	case emulator.StepDeleteInstance:
		return call{step, "DELETE", "/machines/lamp/i/bulb", apiHeader(), []byte(instanceBody(macOf("lamp", "bulb"))), 204}
	case emulator.StepListVersions:
		return call{step, "GET", "/machines/door/v", apiHeader(), nil, 200}
	case emulator.StepSetInstanceVersion:
		return call{step, "PUT", "/machines/lamp/i/bulb/v", apiHeader(), []byte(`{"targetMachineVersionId":"ver_a"}`), 201}
	}
	t.Fatalf("no call for step %q", step)
	return call{}
}

// state is everything a request can change.
func state(em *testkit.Emu) []any {
	desired, ok := em.DesiredVersion("lamp", "bulb")
	return []any{em.Migrations(), em.HasMachine("door"), em.Instances("lamp"), desired, ok}
}

// short returns b, cut to 100 bytes, for messages about huge bodies.
func short(b []byte) string {
	if len(b) > 100 {
		return fmt.Sprintf("%q... (%d bytes)", b[:100], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// attempt is what a faulted request gets: an answer, or with status 0 an
// error, a timeout when hang is set and a connection reset otherwise.
type attempt struct {
	status int
	body   string
	header http.Header // each key must arrive with these values
	hang   bool
}

// hangTimeout ends a request that a Hang fault holds. A hang never
// answers, and an answer sent instead is caught by the status the emulator
// records before it answers; the timeout only has to outlast the dial and
// the request's write on a loaded machine, or the fault would be left for
// the next request. Over TLS it covers the handshake too: tlsHangTimeout.
const (
	hangTimeout    = 100 * time.Millisecond
	tlsHangTimeout = 300 * time.Millisecond
)

// checkErr reports what is wrong with err, the error a client got for a
// request that a Hang (hang) or Reset fault answered.
func checkErr(err error, hang bool) string {
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	switch {
	case err == nil:
		return "no error"
	case hang && !timeout:
		return fmt.Sprintf("error %q is not a timeout", err)
	case !hang && timeout:
		return fmt.Sprintf("error %q is a timeout", err)
	case !hang && !errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("error %q is not a connection reset", err)
	}
	return ""
}

func TestInject(t *testing.T) {
	t.Parallel()
	const (
		unavailable = `{"error":"try later","code":"unavailable"}`
		limited     = `{"error":"slow down","code":"rate-limited"}`
	)
	// Twice the 1 MiB that the client reads of an answer.
	huge := "oops" + strings.Repeat("x", 2<<20)
	jsonType := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		n      int // Inject(step, n, faults[0]); 0 means InjectSequence(step, faults...)
		faults []testkit.Fault
		want   []attempt // the faulted requests, in order; the next gets the real answer
	}{
		{name: "503 with a JSON body", n: 1, faults: []testkit.Fault{{Status: 503, Body: unavailable}},
			want: []attempt{{status: 503, body: unavailable, header: jsonType}}},
		{name: "429 with Retry-After", n: 1, faults: []testkit.Fault{{Status: 429, Body: limited, Header: http.Header{"Retry-After": {"2"}}}},
			want: []attempt{{status: 429, body: limited, header: http.Header{"Retry-After": {"2"}, "Content-Type": {"application/json"}}}}},
		{name: "header overrides the JSON content type", n: 1, faults: []testkit.Fault{{Status: 502, Body: "{oops", Header: http.Header{"content-type": {"text/html"}}}},
			want: []attempt{{status: 502, body: "{oops", header: http.Header{"Content-Type": {"text/html"}}}}},
		{name: "2 MiB body", n: 1, faults: []testkit.Fault{{Status: 500, Body: "oops", BodyBytes: 2 << 20}},
			want: []attempt{{status: 500, body: huge, header: http.Header{"Content-Length": {strconv.Itoa(len(huge))}}}}},
		{name: "hang", n: 1, faults: []testkit.Fault{{Hang: true}}, want: []attempt{{hang: true}}},
		{name: "hang twice, status ignored", n: 2, faults: []testkit.Fault{{Hang: true, Status: 503}}, want: []attempt{{hang: true}, {hang: true}}},
		{name: "reset, status ignored", n: 1, faults: []testkit.Fault{{Reset: true, Status: 503}}, want: []attempt{{}}},
		{name: "503, 502, then the real answer", faults: []testkit.Fault{{Status: 503, Body: unavailable}, {Status: 502}},
			want: []attempt{{status: 503, body: unavailable, header: jsonType}, {status: 502}}},
		{name: "reset, hang, 429, then the real answer", faults: []testkit.Fault{{Reset: true}, {Hang: true}, {Status: 429, Header: http.Header{"Retry-After": {"0"}}}},
			want: []attempt{{}, {hang: true}, {status: 429, header: http.Header{"Retry-After": {"0"}}}}},
	}
	steps := []emulator.Step{emulator.StepProvision, emulator.StepUpload, emulator.StepFinalize, emulator.StepDeleteMachine, emulator.StepListVersions}
	for _, step := range steps {
		for _, tc := range tests {
			t.Run(string(step)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				em, srv := newServer(t, emulator.Config{})
				c := callOf(t, srv.URL, step)
				skip := len(em.Requests()) // the requests of the steps before
				faults := slices.Clone(tc.faults)
				for i := range faults {
					faults[i].Header = faults[i].Header.Clone()
				}
				if tc.n > 0 {
					em.Inject(step, tc.n, faults[0])
				} else {
					em.InjectSequence(step, faults...)
				}
				for _, f := range faults {
					for k := range f.Header {
						f.Header.Set(k, "changed") // Inject keeps its own copy
					}
				}

				var want []emulator.Request
				for i, a := range tc.want {
					before := state(em)
					client := testClient
					if a.hang {
						client = &http.Client{Timeout: hangTimeout}
					}
					r, err := c.do(client, srv.URL)
					switch {
					case a.status == 0:
						if msg := checkErr(err, a.hang); msg != "" {
							t.Errorf("attempt %d: %s (answer %d %s)", i+1, msg, r.status, short(r.body))
						}
					case err != nil:
						t.Fatalf("attempt %d: %v", i+1, err)
					case r.status != a.status || string(r.body) != a.body:
						t.Errorf("attempt %d = %d %s, want the injected %d %s", i+1, r.status, short(r.body), a.status, short([]byte(a.body)))
					}
					for k, v := range a.header {
						if diff := cmp.Diff(v, r.header.Values(k)); diff != "" {
							t.Errorf("attempt %d: header %s mismatch (-want +got):\n%s", i+1, k, diff)
						}
					}
					if diff := cmp.Diff(before, state(em)); diff != "" {
						t.Errorf("attempt %d: an injected fault changed the state (-before +after):\n%s", i+1, diff)
					}
					want = append(want, emulator.Request{Step: step, Method: c.method, Path: c.path, Body: c.body, Status: a.status})
				}
				if r, err := c.do(testClient, srv.URL); err != nil || r.status != c.ok {
					t.Errorf("after the faults, %s = %d %s %v, want %d", step, r.status, r.body, err, c.ok)
				}
				want = append(want, emulator.Request{Step: step, Method: c.method, Path: c.path, Body: c.body, Status: c.ok})

				reqs := em.Requests()[skip:]
				for i := range reqs {
					reqs[i].RawQuery, reqs[i].Header = "", nil
				}
				if diff := cmp.Diff(want, reqs, cmp.Transformer("string", func(b []byte) string { return string(b) })); diff != "" {
					t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestInjectKeepsState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		step  emulator.Step
		fault testkit.Fault
	}{
		{name: "provision answered 200", step: emulator.StepProvision,
			fault: testkit.Fault{Status: 200, Body: `{"machineVersionMigrationId":"mvm_0.0","codeUploadUrl":"http://x","codeUploadFields":{}}`}},
		{name: "upload answered 204", step: emulator.StepUpload, fault: testkit.Fault{Status: 204}},
		{name: "finalize answered 200", step: emulator.StepFinalize, fault: testkit.Fault{Status: 200, Body: `{"machineVersionMigrationId":"mvm_0"}`}},
		{name: "delete machine answered 204", step: emulator.StepDeleteMachine, fault: testkit.Fault{Status: 204}},
		{name: "delete instance answered 204", step: emulator.StepDeleteInstance, fault: testkit.Fault{Status: 204}},
		{name: "set instance version answered 201", step: emulator.StepSetInstanceVersion, fault: testkit.Fault{Status: 201}},
		{name: "set instance version reset", step: emulator.StepSetInstanceVersion, fault: testkit.Fault{Reset: true}},
		{name: "delete machine hangs", step: emulator.StepDeleteMachine, fault: testkit.Fault{Hang: true}},
		{name: "finalize reset", step: emulator.StepFinalize, fault: testkit.Fault{Reset: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, emulator.Config{Instances: map[string][]string{"lamp": {"bulb"}}})
			c := callOf(t, srv.URL, tc.step)
			before := state(em)
			em.Inject(tc.step, 1, tc.fault)

			// A short timeout only where the answer must never come: a
			// loaded machine may take longer than that to answer.
			timeout := 10 * time.Second
			if tc.fault.Hang {
				timeout = hangTimeout
			}
			r, err := c.do(&http.Client{Timeout: timeout}, srv.URL)
			if tc.fault.Hang || tc.fault.Reset {
				if msg := checkErr(err, tc.fault.Hang); msg != "" {
					t.Error(msg)
				}
			} else if err != nil || r.status != tc.fault.Status || string(r.body) != tc.fault.Body {
				t.Errorf("%s = %d %s %v, want the injected %d %s", tc.step, r.status, r.body, err, tc.fault.Status, tc.fault.Body)
			}
			if diff := cmp.Diff(before, state(em)); diff != "" {
				t.Errorf("an injected fault changed the state (-before +after):\n%s", diff)
			}
			// The same request unfaulted does change it, so the check above can fail.
			if r, err := c.do(testClient, srv.URL); err != nil || r.status != c.ok {
				t.Fatalf("%s = %d %s %v, want %d", tc.step, r.status, r.body, err, c.ok)
			}
			if cmp.Equal(before, state(em)) {
				t.Errorf("the unfaulted %s left the state as it was", tc.step)
			}
		})
	}
}

func TestInjectReplaces(t *testing.T) {
	t.Parallel()
	fail := func(status int) testkit.Fault { return testkit.Fault{Status: status} }
	tests := []struct {
		name   string
		inject func(*testkit.Emu)
		want   []int // statuses of consecutive provision requests
	}{
		{name: "Inject n times", inject: func(em *testkit.Emu) { em.Inject(emulator.StepProvision, 3, fail(503)) }, want: []int{503, 503, 503, 200}},
		{name: "FailNext is Inject", inject: func(em *testkit.Emu) { em.FailNext(emulator.StepProvision, 2, 418, "") }, want: []int{418, 418, 200}},
		{name: "Inject replaces a sequence", inject: func(em *testkit.Emu) {
			em.InjectSequence(emulator.StepProvision, fail(503), fail(502))
			em.Inject(emulator.StepProvision, 1, fail(500))
		}, want: []int{500, 200}},
		{name: "a sequence replaces Inject", inject: func(em *testkit.Emu) {
			em.Inject(emulator.StepProvision, 5, fail(500))
			em.InjectSequence(emulator.StepProvision, fail(429), fail(503))
		}, want: []int{429, 503, 200}},
		{name: "n = 0 cancels", inject: func(em *testkit.Emu) {
			em.Inject(emulator.StepProvision, 3, fail(503))
			em.Inject(emulator.StepProvision, 0, fail(500))
		}, want: []int{200}},
		{name: "negative n cancels", inject: func(em *testkit.Emu) {
			em.FailNext(emulator.StepProvision, 3, 503, "")
			em.FailNext(emulator.StepProvision, -1, 500, "")
		}, want: []int{200}},
		{name: "an empty sequence cancels", inject: func(em *testkit.Emu) {
			em.Inject(emulator.StepProvision, 3, fail(503))
			em.InjectSequence(emulator.StepProvision)
		}, want: []int{200}},
		{name: "other steps keep their own", inject: func(em *testkit.Emu) {
			em.Inject(emulator.StepProvision, 1, fail(503))
			em.Inject(emulator.StepFinalize, 3, fail(500))
			em.InjectSequence(emulator.StepFinalize)
		}, want: []int{503, 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em, srv := newServer(t, emulator.Config{})
			tc.inject(em)
			var got []int
			for range tc.want {
				got = append(got, mustSend(t, "POST", srv.URL+"/machines/door/migrations", apiHeader(), []byte(provisionBody)).status)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("statuses mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInjectWrongMethod(t *testing.T) {
	t.Parallel()
	em, srv := newServer(t, emulator.Config{})
	em.Inject(emulator.StepProvision, 1, testkit.Fault{Status: 503})
	var got []int
	for _, method := range []string{"GET", "POST", "POST"} {
		got = append(got, mustSend(t, method, srv.URL+"/machines/door/migrations", apiHeader(), []byte(provisionBody)).status)
	}
	if diff := cmp.Diff([]int{405, 503, 200}, got); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
}

func TestInjectConcurrent(t *testing.T) {
	t.Parallel()
	em, srv := newServer(t, emulator.Config{})
	const n, faults = 24, 10
	em.Inject(emulator.StepProvision, faults, testkit.Fault{Status: 503})
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := send("POST", srv.URL+"/machines/door/migrations", apiHeader(), []byte(provisionBody))
			if err != nil {
				t.Error(err)
			}
			statuses[i] = r.status
		})
		wg.Go(func() { em.InjectSequence(emulator.StepFinalize, testkit.Fault{Status: 500}); _ = em.Requests() })
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if diff := cmp.Diff(map[int]int{503: faults, 200: n - faults}, count); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
	if got := len(em.Migrations()); got != n-faults {
		t.Errorf("%d migrations, want %d", got, n-faults)
	}
}

// hangingProvision sends a provision request, which a Hang fault holds, in a
// goroutine, and returns once the emulator has it. The request ends with ctx.
func hangingProvision(t *testing.T, ctx context.Context, em *testkit.Emu, base string) <-chan error {
	t.Helper()
	em.Inject(emulator.StepProvision, 1, testkit.Fault{Hang: true})
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/machines/door/migrations", strings.NewReader(provisionBody))
		req.Header = apiHeader()
		resp, err := testClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); len(em.Requests()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the emulator did not receive the request")
		}
	}
	return errc
}

// within returns the value c delivers within d, or fails the test.
func within[T any](t *testing.T, c <-chan T, d time.Duration) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(d):
		t.Fatalf("nothing within %v", d)
		var zero T
		return zero
	}
}

func TestHangClose(t *testing.T) {
	t.Parallel()
	em, srv := newServer(t, emulator.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := hangingProvision(t, ctx, em, srv.URL)

	closed := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		srv.Close()
		closed <- time.Since(start)
	}()
	if d := within(t, closed, 2*time.Second); d > time.Second {
		t.Errorf("Close took %v with a request hanging", d)
	}
	cancel() // the hang outlives the server until the client gives up
	if err := within(t, errc, 2*time.Second); err == nil {
		t.Error("the hanging request got an answer")
	}
}

func TestHangListenStop(t *testing.T) {
	t.Parallel()
	em := testkit.New(emulator.Config{Token: token, Machines: map[string][]string{"door": {"ver_1", "ver_2"}}})
	base, stop, err := em.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // well under the 30 s a hang lasts
	defer cancel()
	errc := hangingProvision(t, ctx, em, base)

	stopped := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		stop()
		stopped <- time.Since(start)
	}()
	if d := within(t, stopped, 2*time.Second); d > time.Second {
		t.Errorf("stop took %v with a request hanging", d)
	}
	if err := within(t, errc, 2*time.Second); !errors.Is(err, io.EOF) {
		t.Errorf("the hanging request ended with %v, want EOF: the connection closed", err)
	}
	if got := em.Requests(); len(got) != 1 || got[0].Status != 0 || string(got[0].Body) != provisionBody {
		t.Errorf("Requests() = %+v, want the one provision, status 0", got)
	}
	stop() // again: a no-op
}

func TestFaultsOverTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		http2     bool
		fault     testkit.Fault
		wantErr   string // in the error text; "" for a timeout
		wantProto string // of the request afterwards
	}{
		{name: "HTTP/1.1 reset", fault: testkit.Fault{Reset: true}, wantErr: "connection reset by peer", wantProto: "HTTP/1.1"},
		{name: "HTTP/1.1 hang", fault: testkit.Fault{Hang: true}, wantProto: "HTTP/1.1"},
		{name: "HTTP/2 reset", http2: true, fault: testkit.Fault{Reset: true}, wantErr: "INTERNAL_ERROR", wantProto: "HTTP/2.0"},
		{name: "HTTP/2 hang", http2: true, fault: testkit.Fault{Hang: true}, wantProto: "HTTP/2.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em := testkit.New(emulator.Config{Token: token, Machines: map[string][]string{"door": {"ver_1", "ver_2"}}})
			srv := httptest.NewUnstartedServer(em)
			srv.EnableHTTP2 = tc.http2
			srv.StartTLS()
			t.Cleanup(srv.Close)
			client := srv.Client()
			client.Timeout = 10 * time.Second // the handshake, on a loaded machine
			if tc.wantErr == "" {             // a hang: the timeout is the answer
				client.Timeout = tlsHangTimeout
			}
			em.Inject(emulator.StepProvision, 1, tc.fault)

			_, err := sendWith(client, "POST", srv.URL+"/machines/door/migrations", apiHeader(), []byte(provisionBody))
			var ne net.Error
			switch timeout := errors.As(err, &ne) && ne.Timeout(); {
			case err == nil:
				t.Fatal("no error")
			case tc.wantErr == "" && !timeout:
				t.Errorf("error %q is not a timeout", err)
			case tc.wantErr != "" && (timeout || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %q, want one containing %q", err, tc.wantErr)
			}

			req, _ := http.NewRequest("POST", srv.URL+"/machines/door/migrations", strings.NewReader(provisionBody))
			req.Header = apiHeader()
			client.Timeout = 5 * time.Second
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Proto != tc.wantProto {
				t.Errorf("afterwards, provision = %s %s, want %s 200", resp.Proto, resp.Status, tc.wantProto)
			}
			if got := summarize(em.Requests()); !cmp.Equal(got, []recorded{{emulator.StepProvision, "POST", 0}, {emulator.StepProvision, "POST", 200}}) {
				t.Errorf("Requests() = %v, want the faulted provision with status 0, then one with 200", got)
			}
		})
	}
}

func TestInjectPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inject func(*testkit.Emu)
	}{
		{name: "Hang and Reset", inject: func(em *testkit.Emu) {
			em.Inject(emulator.StepProvision, 1, testkit.Fault{Hang: true, Reset: true})
		}},
		{name: "no status", inject: func(em *testkit.Emu) { em.Inject(emulator.StepProvision, 1, testkit.Fault{Body: "oops"}) }},
		{name: "status 1000", inject: func(em *testkit.Emu) { em.FailNext(emulator.StepProvision, 1, 1000, "") }},
		{name: "a bad fault in a sequence", inject: func(em *testkit.Emu) {
			em.InjectSequence(emulator.StepProvision, testkit.Fault{Status: 503}, testkit.Fault{Status: 99})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			em := testkit.New(emulator.Config{Token: token})
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			tc.inject(em)
		})
	}
}

// TestInterceptReachesConnection: a hook reaches the connection's controls
// through http.ResponseController, as a handler would, and the status it
// answers is recorded.
func TestInterceptReachesConnection(t *testing.T) {
	t.Parallel()
	var errs []error
	em := emulator.New(emulator.Config{Token: token, Machines: map[string][]string{"door": {"ver_1", "ver_2"}},
		Intercept: func(w http.ResponseWriter, r *http.Request, step emulator.Step) bool {
			rc := http.NewResponseController(w)
			errs = append(errs, rc.SetWriteDeadline(time.Now().Add(time.Minute)))
			w.WriteHeader(http.StatusTeapot)
			errs = append(errs, rc.Flush())
			return true
		}})
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	if got := mustSend(t, "POST", srv.URL+"/machines/door/migrations", apiHeader(), []byte(provisionBody)).status; got != http.StatusTeapot {
		t.Errorf("status = %d, want %d", got, http.StatusTeapot)
	}
	if err := errors.Join(errs...); err != nil {
		t.Errorf("the hook's connection controls failed: %v", err)
	}
	if reqs := em.Requests(); len(reqs) != 1 || reqs[0].Status != http.StatusTeapot {
		t.Errorf("requests = %+v, want one with status %d", reqs, http.StatusTeapot)
	}
}
