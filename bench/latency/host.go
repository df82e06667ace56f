package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// host is one host of the service: a TLS server on a port of its own, and
// the delaying proxy in front of it that clients connect to.
type host struct {
	name       string
	events     *timeline
	proxy      *proxy
	backend    net.Listener
	srv        *http.Server
	handshakes atomic.Int64 // TLS handshakes the server completed
	tls13      atomic.Int64 // of which TLS 1.3
	resumed    atomic.Int64 // of which resumed a session
	requests   atomic.Int64
}

// counts is what a host saw.
type counts struct {
	TCP        int64 `json:"tcp"` // connections the proxy accepted
	Handshakes int64 `json:"tls"`
	TLS13      int64 `json:"tls13"`
	Resumed    int64 `json:"resumed"`
	Requests   int64 `json:"requests"`
}

// newHost listens for the server and for its proxy, on two ports of
// 127.0.0.1. It records what happens under name in events.
func newHost(name string, events *timeline, cert *certs, oneWay time.Duration) (*host, error) {
	h := &host{name: name, events: events}
	var err error
	if h.backend, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if h.proxy, err = newProxy(h.backend.Addr().String(), oneWay); err != nil {
		_ = h.backend.Close()
		return nil, err
	}
	h.proxy.onAccept = func() { events.add(name + " tcp") }
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert.leaf},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
		// Called once per handshake, whether or not a client certificate
		// was asked for: the place to count them.
		VerifyConnection: func(cs tls.ConnectionState) error {
			events.add(name + " tls")
			h.handshakes.Add(1)
			if cs.Version == tls.VersionTLS13 {
				h.tls13.Add(1)
			}
			if cs.DidResume {
				h.resumed.Add(1)
			}
			return nil
		},
	}
	h.backend = tls.NewListener(h.backend, cfg)
	return h, nil
}

// serve serves handler over TLS, HTTP/1.1 only: the action's image is built
// without HTTP/2, and the official client uses HTTP/1.1 too. A connection
// may wait a while for its first request (that is what preconnecting is),
// so the header timeout is generous.
func (h *host) serve(handler http.Handler) {
	h.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.requests.Add(1)
			h.events.add(h.name + " " + route(r.Method, r.URL.Path))
			handler.ServeHTTP(w, r)
			h.events.add(h.name + " answered")
		}),
		ReadHeaderTimeout: time.Minute,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() { _ = h.srv.Serve(h.backend) }()
	go h.proxy.serve()
}

// addr is where clients connect: the proxy.
func (h *host) addr() string { return h.proxy.ln.Addr().String() }

func (h *host) close() {
	_ = h.proxy.ln.Close()
	if h.srv != nil {
		_ = h.srv.Close()
	} else {
		_ = h.backend.Close()
	}
}

func (h *host) counts(reset bool) counts {
	get := func(v *atomic.Int64) int64 {
		if reset {
			return v.Swap(0)
		}
		return v.Load()
	}
	return counts{TCP: get(&h.proxy.conns), Handshakes: get(&h.handshakes), TLS13: get(&h.tls13),
		Resumed: get(&h.resumed), Requests: get(&h.requests)}
}

// apiOnly serves the API's requests and refuses uploads, which belong to
// the other host. The emulator builds codeUploadUrl from the request's
// Host; naming the upload host there points the upload at it.
func apiOnly(em http.Handler, uploadHost string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/upload/") {
			http.Error(w, "uploads go to the upload host", http.StatusMisdirectedRequest)
			return
		}
		r.Host = uploadHost
		if err := dropCode(r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		em.ServeHTTP(w, r)
	})
}

// dropCode removes the gzippedCode member from a provision body. The
// official JS client puts the whole bundle there as a JSON array of bytes
// (docs/api.md, "Known flaws"), which the real API ignores and the emulator
// refuses above 64 KiB: the realistic app's body is larger. The body still
// crossed the proxy, so the official toolchain still pays for sending it.
func dropCode(r *http.Request) error {
	if r.Method != http.MethodPost || r.Body == nil {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) == nil && members["gzippedCode"] != nil {
		delete(members, "gzippedCode")
		if body, err = json.Marshal(members); err != nil {
			return err
		}
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return nil
}

// uploadOnly serves uploads only, as an S3 bucket's host would.
func uploadOnly(em http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/upload/") {
			http.Error(w, "this is the upload host, not the API", http.StatusMisdirectedRequest)
			return
		}
		em.ServeHTTP(w, r)
	})
}
