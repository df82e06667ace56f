// Command latency serves the StateBacked API emulator over TLS behind a
// proxy that adds a network round trip, so that a deploy pays the round
// trips a user on a real network pays and a local emulator hides.
//
//	STATEBACKED_TOKEN=... go run ./bench/latency -rtt 50ms -cert ca.pem
//
// It writes a throwaway CA certificate (PEM) to -cert: trust it with
// SSL_CERT_FILE=ca.pem (Go) or NODE_EXTRA_CA_CERTS=ca.pem (Node). The API and
// the upload host (where provision's codeUploadUrl points) are two TLS
// servers on two ports, as they are two hosts in production, each behind its
// own delaying TCP proxy. It prints one line per address, then serves until
// it is interrupted, and then prints what each port saw:
//
//	api=https://127.0.0.1:PORT
//	upload=https://127.0.0.1:PORT
//	stats=http://127.0.0.1:PORT/stats
//	cert=ca.pem
//
// GET stats answers, as JSON, the TCP connections, TLS handshakes and
// requests each port saw since the last POST to it (which also resets
// them), and a timeline of them: when each connection opened, each
// handshake ended, each request came and was answered.
//
// The emulator knows machine "toggle" with versions ver_toggle_1 and
// ver_toggle_2, and accepts the official JS client's provision body (see
// dropCode). Every address is on 127.0.0.1. bench/latency.sh drives it.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"sbdeploy/emulator"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
}

func run() error {
	rtt := flag.Duration("rtt", 50*time.Millisecond, "round-trip time the proxies add (half each way)")
	certPath := flag.String("cert", "latency-ca.pem", "where to write the CA certificate (PEM)")
	flag.Parse()
	token := os.Getenv("STATEBACKED_TOKEN")
	if token == "" {
		return errors.New("set STATEBACKED_TOKEN")
	}
	if *rtt < 0 {
		return fmt.Errorf("-rtt %v is negative", *rtt)
	}
	cert, err := throwawayCert(*certPath)
	if err != nil {
		return err
	}
	em := emulator.New(emulator.Config{Token: token, AllowExtraProvisionFields: true,
		Machines: map[string][]string{"toggle": {"ver_toggle_1", "ver_toggle_2"}}})
	s, err := start(em, cert, *rtt/2)
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("api=https://%s\nupload=https://%s\nstats=http://%s/stats\ncert=%s\n",
		s.api.addr(), s.upload.addr(), s.stats.Addr(), *certPath)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	out, _ := json.Marshal(s.snapshot(false))
	fmt.Fprintf(os.Stderr, "latency: since the last reset: %s\n", out)
	return nil
}

// setup is what run starts: a TLS server and a delaying proxy per host, and
// the stats listener.
type setup struct {
	api, upload *host
	events      *timeline
	stats       net.Listener
}

// start serves em on two hosts: the API, and the upload host that the API's
// provision answers point at. oneWay is the delay each proxy adds to each
// direction.
func start(em http.Handler, cert *certs, oneWay time.Duration) (*setup, error) {
	events := &timeline{}
	upload, err := newHost("upload", events, cert, oneWay)
	if err != nil {
		return nil, err
	}
	api, err := newHost("api", events, cert, oneWay)
	if err != nil {
		upload.close()
		return nil, err
	}
	upload.serve(uploadOnly(em))
	api.serve(apiOnly(em, upload.addr()))
	s := &setup{api: api, upload: upload, events: events}
	if s.stats, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		s.close()
		return nil, err
	}
	go func() { _ = http.Serve(s.stats, http.HandlerFunc(s.serveStats)) }()
	return s, nil
}

func (s *setup) close() {
	s.api.close()
	s.upload.close()
	if s.stats != nil {
		_ = s.stats.Close()
	}
}

// serveStats answers the counts as JSON; a POST also resets them, so that
// a caller can count what one deploy cost.
func (s *setup) serveStats(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.snapshot(r.Method == http.MethodPost))
}

// stats is what the hosts saw since the last reset. SpanMS runs from the
// first connection's start to the last answer's end, as the servers saw
// them: the deploy's time on the network, give or take half a round trip.
type stats struct {
	API      counts  `json:"api"`
	Upload   counts  `json:"upload"`
	SpanMS   float64 `json:"span_ms"`
	Timeline []event `json:"timeline"`
}

func (s *setup) snapshot(reset bool) stats {
	st := stats{API: s.api.counts(reset), Upload: s.upload.counts(reset), Timeline: s.events.snapshot(reset)}
	if n := len(st.Timeline); n > 0 {
		st.SpanMS = st.Timeline[n-1].AtMS
	}
	return st
}
