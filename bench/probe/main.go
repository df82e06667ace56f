// Command probe runs a deploy command several times against an in-process
// emulator of the StateBacked API and reports, per run, what hyperfine cannot
// see: the time from starting the process to the first request arriving, the
// requests and TCP connections it used, its CPU time, page faults and peak RSS.
//
//	go run ./bench/probe -runs 20 -- ./sbdeploy --api-url {api} ...
//
// Every "{api}" in the command is replaced by the emulator's base URL. The
// token is STATEBACKED_TOKEN. The emulator knows machine "toggle" with
// versions ver_toggle_1 and ver_toggle_2, and accepts the official JS client's
// extra provision keys, so the official toolchain can be probed too. Each run
// must exit 0 and send exactly -requests requests (3 by default; 0 for a dry
// run), or probe fails. The output is one line of medians (first_request_* only
// when there were requests):
//
//	runs=20 first_request_ms=… first_request_min_ms=… wall_ms=… wall_min_ms=… cpu_ms=… peak_rss_kb=… page_faults=… requests=3 connections=1
//
// cpu_ms (user and system time) and page_faults (minor faults) vary less
// than wall times on a busy machine. peak_rss_kb is the whole process
// tree's: sbdeploy and its worker, added up.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit/procrun"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

// counter records, for the run under way, when the first request arrived and
// how many requests and connections there were.
type counter struct {
	mu          sync.Mutex
	first       time.Time
	requests    int
	connections int
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.first, c.requests, c.connections = time.Time{}, 0, 0
}

func run() error {
	runs := flag.Int("runs", 20, "how many times to run the command")
	warmup := flag.Int("warmup", 2, "runs before the measured ones, not counted")
	want := flag.Int("requests", 3, "requests each run must send (0 for a dry run)")
	flag.Parse()
	args, token := flag.Args(), os.Getenv("STATEBACKED_TOKEN")
	if len(args) == 0 || token == "" {
		return errors.New("usage: STATEBACKED_TOKEN=... probe [-runs N] -- command args... ({api} is the emulator's URL)")
	}

	var c counter
	api, stop, err := serve(token, &c)
	if err != nil {
		return err
	}
	defer stop()
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "{api}", api)
	}

	var m samples
	for i := range *warmup + *runs {
		c.reset()
		r, err := procrun.RunTree(args)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		if i < *warmup {
			continue
		}
		// The last connection may still be closing; its request was answered.
		c.mu.Lock()
		if c.requests != *want {
			c.mu.Unlock()
			return fmt.Errorf("run %d sent %d requests, want %d", i+1, c.requests, *want)
		}
		if !c.first.IsZero() {
			m.first = append(m.first, procrun.MS(c.first.Sub(r.Start)))
		}
		m.reqs = append(m.reqs, float64(c.requests))
		m.conns = append(m.conns, float64(c.connections))
		c.mu.Unlock()
		m.wall, m.cpu = append(m.wall, r.Wall), append(m.cpu, r.CPU)
		m.rss, m.faults = append(m.rss, r.RSS), append(m.faults, r.Faults)
	}
	m.print(*runs)
	return nil
}

// samples are the measured runs' figures.
type samples struct {
	first, wall, cpu, rss, faults, reqs, conns []float64
}

// print writes the medians, and the minimum of the times, on one line.
func (m *samples) print(runs int) {
	fmt.Printf("runs=%d", runs)
	if len(m.first) > 0 {
		fmt.Printf(" first_request_ms=%.2f first_request_min_ms=%.2f", procrun.Median(m.first), slices.Min(m.first))
	}
	fmt.Printf(" wall_ms=%.2f wall_min_ms=%.2f cpu_ms=%.2f peak_rss_kb=%.0f page_faults=%.0f requests=%.0f connections=%.0f\n",
		procrun.Median(m.wall), slices.Min(m.wall), procrun.Median(m.cpu), procrun.Median(m.rss), procrun.Median(m.faults), procrun.Median(m.reqs), procrun.Median(m.conns))
}

// serve serves an emulator that accepts token on 127.0.0.1, counting into
// c the requests, the time of the first, and the connections, and returns
// its URL.
func serve(token string, c *counter) (api string, stop func(), err error) {
	em := emulator.New(emulator.Config{Token: token, AllowExtraProvisionFields: true,
		Machines: map[string][]string{"toggle": {"ver_toggle_1", "ver_toggle_2"}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			now := time.Now()
			c.mu.Lock()
			if c.first.IsZero() {
				c.first = now
			}
			c.requests++
			c.mu.Unlock()
			em.ServeHTTP(w, r)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				c.mu.Lock()
				c.connections++
				c.mu.Unlock()
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}
