package deploy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

const preToken = "sbtest_preconnect"

var preMigration = Migration{Machine: "toggle", From: "ver_1", To: "ver_2",
	Code: []byte(`export function upgradeState(s){return s}export function upgradeContext(c){return c}`)}

// seen is what a host saw of one request.
type seen struct {
	Path   string
	Expect string // the Expect header
	TLS    uint16 // the TLS version
}

// host is one host of a test, over TLS with httptest's certificate: it
// counts the connections its server opened and closed, and records the
// requests. Its listener can hold each connection until the test opens a
// gate, which holds up the TLS handshake.
type host struct {
	srv *httptest.Server
	ln  *holdListener

	mu             sync.Mutex
	opened, closed int
	requests       []seen
}

// newHost serves h on addr ("127.0.0.1:0": any port), holding each new
// connection until gate is closed (nil: not at all), with TLS versions up
// to maxTLS.
func newHost(t *testing.T, addr string, gate <-chan struct{}, maxTLS uint16, h http.Handler) *host {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &host{ln: &holdListener{Listener: ln, gate: gate, closed: make(chan struct{})}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, seen{Path: r.URL.Path, Expect: r.Header.Get("Expect"), TLS: r.TLS.Version})
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	s.srv.Listener.Close()
	s.srv.Listener = s.ln
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // closed handshakes are the point of some tests
	s.srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch state {
		case http.StateNew:
			s.opened++
		case http.StateClosed:
			s.closed++
		}
	}
	s.srv.TLS = &tls.Config{MaxVersion: maxTLS}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

// counts returns the connections opened and closed, and the requests.
func (s *host) counts() (opened, closed int, requests []seen) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened, s.closed, append([]seen(nil), s.requests...)
}

// holdListener holds each accepted connection until its gate is closed
// (or the listener is) before the server gets it, and keeps them all, so
// that a test can close one under the server.
type holdListener struct {
	net.Listener
	gate   <-chan struct{}
	closed chan struct{}
	once   sync.Once

	mu    sync.Mutex
	conns []net.Conn
}

func (l *holdListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func (l *holdListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.conns = append(l.conns, c)
	l.mu.Unlock()
	if l.gate != nil {
		select {
		case <-l.gate:
		case <-l.closed:
		}
	}
	return c, nil
}

// accepted returns the connections accepted so far.
func (l *holdListener) accepted() []net.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]net.Conn(nil), l.conns...)
}

// apiAndUpload serves one emulator on two hosts, as production has them:
// the API, and the upload host that provision's codeUploadUrl names. The
// emulator builds that URL from the request's Host.
func apiAndUpload(t *testing.T, apiAddr string, gate <-chan struct{}, maxTLS uint16) (em *testkit.Emu, api, upload *host) {
	t.Helper()
	em = testkit.New(emulator.Config{Token: preToken, Machines: map[string][]string{"toggle": {"ver_1", "ver_2"}}})
	upload = newHost(t, "127.0.0.1:0", nil, maxTLS, em)
	uploadHost := upload.ln.Addr().String()
	api = newHost(t, apiAddr, gate, maxTLS, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Host = uploadHost
		em.ServeHTTP(w, r)
	}))
	return em, api, upload
}

// tlsClient is a client of the API at url that tries each request once, so
// that a broken connection fails the deploy. See trust.
func tlsClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := New(url, preToken, WithAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// trust makes c trust s's certificate (httptest's, the same for every
// server) from its next handshake on.
func trust(c *Client, s *host) {
	roots := x509.NewCertPool()
	roots.AddCert(s.srv.Certificate())
	c.http.Transport.(*transport).tls.RootCAs = roots
}

// preconnOf returns the preconnection Preconnect started for c.
func preconnOf(t *testing.T, c *Client) *preconn {
	t.Helper()
	tr := c.http.Transport.(*transport)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.pre == nil {
		t.Fatal("Preconnect started nothing")
	}
	return tr.pre
}

// waitPreconnect waits until c's preconnection has been set up or failed.
func waitPreconnect(t *testing.T, c *Client) {
	t.Helper()
	p := preconnOf(t, c)
	select {
	case <-p.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the preconnection was not set up within 10 s")
	}
}

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// step names a request a host saw by its path.
func step(path string) string {
	switch {
	case strings.HasPrefix(path, "/upload/"):
		return "upload"
	case path == "/machines/toggle/migrations":
		return "provision"
	case strings.HasPrefix(path, "/machines/toggle/migrations/"):
		return "finalize"
	}
	return path
}

// steps is what a host saw, as steps with their Expect header and TLS
// version.
func steps(reqs []seen) []seen {
	out := make([]seen, len(reqs))
	for i, r := range reqs {
		out[i] = seen{Path: step(r.Path), Expect: r.Expect, TLS: r.TLS}
	}
	return out
}

// TestPreconnect checks that Preconnect opens one connection and sends
// nothing, and that the deploy then costs one API connection (the one
// opened ahead, kept alive from provision to finalize) and one upload
// connection, with no Expect: 100-continue, at the best TLS version both
// ends have.
func TestPreconnect(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		maxTLS uint16
	}{{"TLS 1.3", tls.VersionTLS13}, {"server with TLS 1.2 only", tls.VersionTLS12}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, api, upload := apiAndUpload(t, "127.0.0.1:0", nil, tt.maxTLS)
			c := tlsClient(t, api.srv.URL)
			trust(c, api)
			c.Preconnect(context.Background())
			c.Preconnect(context.Background()) // opens nothing more
			waitPreconnect(t, c)
			if opened, _, reqs := api.counts(); opened != 1 || len(reqs) != 0 || len(em.Requests()) != 0 {
				t.Fatalf("after Preconnect: %d connections, %d requests (the emulator: %d), want 1 and none",
					opened, len(reqs), len(em.Requests()))
			}

			if _, err := c.Deploy(context.Background(), preMigration, nil); err != nil {
				t.Fatal(err)
			}
			apiConns, _, apiReqs := api.counts()
			uploadConns, _, uploadReqs := upload.counts()
			if apiConns != 1 || uploadConns != 1 {
				t.Errorf("connections: API %d, upload %d; want 1 each", apiConns, uploadConns)
			}
			want := []seen{{Path: "provision", TLS: tt.maxTLS}, {Path: "finalize", TLS: tt.maxTLS}}
			if diff := cmp.Diff(want, steps(apiReqs)); diff != "" {
				t.Errorf("API requests (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]seen{{Path: "upload", TLS: tt.maxTLS}}, steps(uploadReqs)); diff != "" {
				t.Errorf("upload requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPreconnectUnderWay checks that a first request that comes while the
// preconnection is still being set up (the server holds its TLS handshake
// until the request has claimed it) waits for it rather than opening a
// second connection.
func TestPreconnectUnderWay(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	_, api, _ := apiAndUpload(t, "127.0.0.1:0", gate, tls.VersionTLS13)
	c := tlsClient(t, api.srv.URL)
	trust(c, api)
	c.Preconnect(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Deploy(context.Background(), preMigration, nil)
		done <- err
	}()
	pre, tr := preconnOf(t, c), c.http.Transport.(*transport)
	eventually(t, "the first request claims the preconnection", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return pre.taken
	})
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitPreconnect(t, c) // and so every connection it could have opened was accepted
	if n := len(api.ln.accepted()); n != 1 {
		t.Errorf("%d API connections, want 1: the first request did not wait for the preconnection", n)
	}
}

// TestPreconnectUnused checks that a connection no request took is closed,
// having sent nothing, when Preconnect's context ends or the client closes
// its idle connections, even when that happens while it is being set up.
func TestPreconnectUnused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		connecting bool // the server holds the TLS handshake until the end
		end        func(c *Client, cancel context.CancelFunc)
	}{
		{"context ends", false, func(_ *Client, cancel context.CancelFunc) { cancel() }},
		{"client closes idle connections", false, func(c *Client, _ context.CancelFunc) { c.CloseIdleConnections() }},
		{"context ends while connecting", true, func(_ *Client, cancel context.CancelFunc) { cancel() }},
		{"client closes while connecting", true, func(c *Client, _ context.CancelFunc) { c.CloseIdleConnections() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gate chan struct{}
			if tt.connecting {
				gate = make(chan struct{})
			}
			em, api, _ := apiAndUpload(t, "127.0.0.1:0", gate, tls.VersionTLS13)
			c := tlsClient(t, api.srv.URL)
			trust(c, api)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c.Preconnect(ctx)
			eventually(t, "the TCP connection is set up", func() bool { return len(api.ln.accepted()) == 1 })
			if !tt.connecting {
				waitPreconnect(t, c)
			}
			tt.end(c, cancel)
			if tt.connecting {
				close(gate) // the handshake goes on, for a connection already dropped
			}
			waitPreconnect(t, c)
			eventually(t, "the server saw the preconnection closed", func() bool {
				opened, closed, _ := api.counts()
				return opened == 1 && closed == 1
			})
			if _, _, reqs := api.counts(); len(reqs) != 0 || len(em.Requests()) != 0 {
				t.Errorf("%d requests, want none", len(reqs))
			}
		})
	}
}

// TestPreconnectFailed checks that when nothing listens at the API yet, the
// failed preconnection leaves the first request to dial as it would have.
func TestPreconnectFailed(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the port is free: nothing listens there now
	c := tlsClient(t, "https://"+addr)
	c.Preconnect(context.Background())
	waitPreconnect(t, c)

	_, api, _ := apiAndUpload(t, addr, nil, tls.VersionTLS13)
	trust(c, api)
	if _, err := c.Deploy(context.Background(), preMigration, nil); err != nil {
		t.Fatal(err)
	}
	if opened, _, _ := api.counts(); opened != 1 {
		t.Errorf("%d API connections, want 1", opened)
	}
}

// TestPreconnectClosedByServer checks that a preconnection the server closed
// while it waited (an idle timeout) is not used: the first request dials
// again, and succeeds at its only attempt.
func TestPreconnectClosedByServer(t *testing.T) {
	t.Parallel()
	_, api, _ := apiAndUpload(t, "127.0.0.1:0", nil, tls.VersionTLS13)
	c := tlsClient(t, api.srv.URL)
	trust(c, api)
	c.Preconnect(context.Background())
	waitPreconnect(t, c)
	eventually(t, "the server took the connection", func() bool { return len(api.ln.accepted()) == 1 })
	api.ln.accepted()[0].Close()
	eventually(t, "the server saw it closed", func() bool {
		_, closed, _ := api.counts()
		return closed == 1
	})

	if _, err := c.Deploy(context.Background(), preMigration, nil); err != nil {
		t.Fatal(err)
	}
	if opened, _, _ := api.counts(); opened != 2 {
		t.Errorf("%d API connections, want 2: the closed one, and one dialed anew", opened)
	}
}
