package emulator_test

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestRateLimit sends three requests at once to a server that takes one a
// second with room for two: the third is refused 429 rate-limited with a
// Retry-After of 1 s, and Served counts all three.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	cfg := rolloutConfig()
	cfg.RateLimit, cfg.RateBurst = 1, 2
	em, srv := newServer(t, cfg)
	var got []int
	for range 3 {
		r := mustSend(t, "GET", srv.URL+"/machines/door/i", apiHeader(), nil)
		got = append(got, r.status)
		if r.status == http.StatusTooManyRequests {
			if ra := r.header.Get("Retry-After"); ra != "1" {
				t.Errorf("Retry-After = %q, want 1", ra)
			}
			if a := answerOf(t, r); a.Code != "rate-limited" {
				t.Errorf("429 code = %q, want rate-limited", a.Code)
			}
		}
	}
	if want := []int{200, 200, 429}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if n := em.Served(); n != 3 {
		t.Errorf("Served = %d, want 3", n)
	}
}

// TestCapacity holds each request for Latency with one served at a time:
// four sent together take at least four latencies (a lower bound, so the
// test cannot fail on a slow machine).
func TestCapacity(t *testing.T) {
	t.Parallel()
	cfg := rolloutConfig()
	cfg.Latency, cfg.Capacity = 50*time.Millisecond, 1
	_, srv := newServer(t, cfg)
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if r := mustSend(t, "GET", srv.URL+"/machines/door/i", apiHeader(), nil); r.status != http.StatusOK {
				t.Errorf("status %d", r.status)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("4 requests took %v, want at least 4 x 50 ms one at a time", took)
	}
}
