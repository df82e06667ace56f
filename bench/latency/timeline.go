package main

import (
	"strings"
	"sync"
	"time"
)

// timeline records, across both hosts, when connections opened, handshakes
// ended and requests came and were answered, since the last reset: one
// deploy's path through the network, read from the servers' side.
type timeline struct {
	mu     sync.Mutex
	start  time.Time
	events []event
}

// event is one thing that happened, in ms since the first event.
type event struct {
	AtMS float64 `json:"at_ms"`
	What string  `json:"what"`
}

func (t *timeline) add(what string) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		t.start = now
	}
	t.events = append(t.events, event{AtMS: float64(now.Sub(t.start).Microseconds()) / 1000, What: what})
}

func (t *timeline) snapshot(reset bool) []event {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]event(nil), t.events...)
	if reset {
		t.start, t.events = time.Time{}, nil
	}
	return out
}

// route names a request without its signed IDs: its method and at most
// its first three path segments.
func route(method, path string) string {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 4)
	if len(parts) > 3 {
		parts[3] = "…"
	}
	return method + " /" + strings.Join(parts, "/")
}
