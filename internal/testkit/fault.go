package testkit

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sbdeploy/emulator"
)

// maxHang is the longest a Hang fault holds a request.
const maxHang = 30 * time.Second

// filler is what a Fault's BodyBytes are written from, a chunk at a time.
var filler = bytes.Repeat([]byte("x"), 32<<10)

// Fault is one injected misbehaviour, applied instead of the real answer.
type Fault struct {
	Status int         // status to answer (ignored for Hang and Reset)
	Body   string      // body, verbatim
	Header http.Header // extra response headers, e.g. Retry-After
	// BodyBytes, if > 0, appends this many filler bytes ('x') to Body: a
	// huge answer (e.g. 10 MB), streamed with its Content-Length.
	BodyBytes int
	// Hang holds the request without answering until the client goes away,
	// the server of Emu.Listen stops, or 30 s pass; then the connection is
	// closed.
	Hang bool
	// Reset closes the connection without answering, with a TCP reset where
	// the connection is TCP.
	Reset bool
}

// run is a fault pending for the next n requests of a step.
type run struct {
	n int
	f Fault
}

// Inject applies f to the next n requests of step, instead of validating
// them or touching state (see emulator.Config.Intercept). It replaces any
// fault still pending for step; n <= 0 cancels it. Faulted requests are
// still recorded, with Status 0 for Hang and Reset. A request for no step,
// or with the wrong method, is answered as usual and uses up no fault. Inject panics if f has both Hang and Reset, or
// neither and a Status net/http cannot send, since either is a mistake in the
// test.
func (e *Emu) Inject(step emulator.Step, n int, f Fault) {
	if n <= 0 {
		e.pend(step, nil)
		return
	}
	e.pend(step, []run{{n: n, f: check(f)}})
}

// InjectSequence applies faults in order to the next len(faults) requests of
// step, one each (e.g. 503, then 429 with Retry-After, then the real answer).
// It replaces any fault still pending for step; no faults cancels it. It
// panics as Inject does.
func (e *Emu) InjectSequence(step emulator.Step, faults ...Fault) {
	runs := make([]run, len(faults))
	for i, f := range faults {
		runs[i] = run{n: 1, f: check(f)}
	}
	e.pend(step, runs)
}

// FailNext makes the next n requests of step answer status with body
// (verbatim): it is Inject(step, n, Fault{Status: status, Body: body}).
func (e *Emu) FailNext(step emulator.Step, n int, status int, body string) {
	e.Inject(step, n, Fault{Status: status, Body: body})
}

// check returns f with its own copy of Header, or panics if f cannot be applied.
func check(f Fault) Fault {
	switch {
	case f.Hang && f.Reset:
		panic("testkit: Fault has both Hang and Reset")
	case !f.Hang && !f.Reset && (f.Status < 100 || f.Status > 999):
		panic(fmt.Sprintf("testkit: Fault has status %d, want 100 to 999", f.Status))
	}
	f.Header = f.Header.Clone()
	return f
}

// pend replaces the faults pending for step with runs.
func (e *Emu) pend(step emulator.Step, runs []run) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fails[step] = runs
}

// next takes the fault for the next request of step, if one is pending.
func (e *Emu) next(step emulator.Step) (Fault, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	runs := e.fails[step]
	if len(runs) == 0 {
		return Fault{}, false
	}
	if runs[0].n--; runs[0].n == 0 {
		e.fails[step] = runs[1:]
	}
	return runs[0].f, true
}

// inject is the emulator's Intercept: it applies a pending fault for step
// to the request, if there is one, and reports whether it did.
func (e *Emu) inject(w http.ResponseWriter, r *http.Request, step emulator.Step) bool {
	f, ok := e.next(step)
	switch {
	case !ok:
		return false
	case f.Hang:
		e.hang(w, r)
	case f.Reset:
		reset(w)
	default:
		answer(w, f)
	}
	return true
}

// answer writes f's status, headers and body.
func answer(w http.ResponseWriter, f Fault) {
	h := w.Header()
	if strings.HasPrefix(strings.TrimSpace(f.Body), "{") {
		h.Set("Content-Type", "application/json") // so clients can decode an injected API error
	}
	if f.BodyBytes > 0 {
		h.Set("Content-Length", strconv.Itoa(len(f.Body)+f.BodyBytes))
	}
	for k, vs := range f.Header {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v) // a fresh slice: f.Header is shared by every request it faults
		}
	}
	w.WriteHeader(f.Status)
	if _, err := io.WriteString(w, f.Body); err != nil {
		return
	}
	for left := f.BodyBytes; left > 0; left -= len(filler) {
		if _, err := w.Write(filler[:min(left, len(filler))]); err != nil {
			return // the client went away
		}
	}
}

// hang takes the connection over from net/http and holds it, unanswered, in
// a goroutine. Taking it over means neither httptest.Server.Close nor
// http.Server.Shutdown waits for it; the connection is closed when the client
// closes its end, when the server of Emu.Listen stops, or after maxHang.
func (e *Emu) hang(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil { // HTTP/2: hold the handler instead, then reset the stream
		wait(r.Context().Done(), e.stopped)
		panic(http.ErrAbortHandler)
	}
	go func() {
		defer conn.Close()
		gone := make(chan struct{})
		go func() {
			defer close(gone)
			_, _ = io.Copy(io.Discard, conn) // returns when the client closes, or on conn.Close
		}()
		wait(gone, e.stopped)
	}()
}

// wait returns when done or stopped is closed, or after maxHang.
func wait(done, stopped <-chan struct{}) {
	t := time.NewTimer(maxHang)
	defer t.Stop()
	select {
	case <-done:
	case <-stopped:
	case <-t.C:
	}
}

// reset closes the connection without answering. With linger 0 the close
// sends a TCP RST, so the client reads "connection reset by peer" rather
// than EOF.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil { // HTTP/2: reset the stream
		panic(http.ErrAbortHandler)
	}
	if c, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = c.NetConn() // under TLS, reset the TCP connection itself
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
