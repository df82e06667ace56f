package deploy

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// clock is a fake clock the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// window answers a window of the limiter's current limit with requests sent
// together that each took latency, and returns the limit after it.
func window(l *limiter, clk *clock, latency time.Duration) int {
	sent := clk.now()
	clk.advance(latency)
	limit, _, _ := l.state()
	for range limit {
		l.observe(sent, http.StatusCreated, 0)
	}
	limit, _, _ = l.state()
	return limit
}

// TestLimiterGrowsWhileLatencyIsFlat pins additive increase: one more per
// window of flat latency, never past the maximum.
func TestLimiterGrowsWhileLatencyIsFlat(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(0, 0)}
	l := newLimiter(StartConcurrency, 10, clk.now)
	var got []int
	for range 4 {
		got = append(got, window(l, clk, 40*time.Millisecond))
	}
	if want := []int{9, 10, 10, 10}; !slices.Equal(got, want) {
		t.Errorf("limits after each window = %v, want %v", got, want)
	}
	// A window that is not yet complete changes nothing.
	l.observe(clk.now(), http.StatusCreated, 0)
	if limit, _, _ := l.state(); limit != 10 {
		t.Errorf("limit = %d after one answer of a window, want 10", limit)
	}
}

// TestLimiterHalvesOnLatencyRise pins multiplicative decrease on a window
// whose mean latency is well past the best window's, and that a server
// slower for good stops halving the limit after a few windows.
func TestLimiterHalvesOnLatencyRise(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(0, 0)}
	l := newLimiter(32, 64, clk.now)
	if got := window(l, clk, 40*time.Millisecond); got != 33 {
		t.Fatalf("limit = %d after a flat window, want 33", got)
	}
	if got := window(l, clk, 60*time.Millisecond); got != 34 {
		t.Errorf("limit = %d after a window 1.5x the baseline (within 1.5x + 5 ms), want 34", got)
	}
	if got := window(l, clk, 100*time.Millisecond); got != 17 {
		t.Errorf("limit = %d after a window 2.5x the baseline, want 17", got)
	}
	var got []int
	for range 8 {
		got = append(got, window(l, clk, 100*time.Millisecond))
	}
	if last := got[len(got)-1]; last <= got[len(got)-2] || last < 2 {
		t.Errorf("limits on a server slower for good = %v: want the halving to stop and the limit to grow again", got)
	}
}

// TestLimiterBacksOff pins the halving on a 429, a 503 and no answer, once
// for all the requests that were in flight when it came, never below 1.
func TestLimiterBacksOff(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, 0} {
		clk := &clock{t: time.Unix(0, 0)}
		l := newLimiter(16, 64, clk.now)
		before := clk.now()
		clk.advance(time.Millisecond)
		l.observe(before, status, 0)
		l.observe(before, status, 0) // sent before the halving: says nothing new
		if limit, _, _ := l.state(); limit != 8 {
			t.Errorf("status %d: limit = %d, want 16 halved once", status, limit)
		}
		for range 5 {
			l.observe(clk.now(), status, 0) // sent at the new limit
		}
		if limit, _, _ := l.state(); limit != 1 {
			t.Errorf("status %d: limit = %d after 5 more, want 1", status, limit)
		}
	}
	clk := &clock{t: time.Unix(0, 0)}
	l := newLimiter(16, 64, clk.now)
	l.observe(clk.now(), http.StatusBadRequest, 0) // an answer, as good as a 2xx for the limit
	if limit, _, _ := l.state(); limit != 16 {
		t.Errorf("limit = %d after a 400, want 16", limit)
	}
}

// TestLimiterPausesOnRetryAfter pins the pause: a 429's Retry-After stops
// every request until it has passed; a shorter one later does not cut it,
// and a 503 does not pause.
func TestLimiterPausesOnRetryAfter(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(0, 0)}
	l := newLimiter(8, 64, clk.now)
	l.observe(clk.now(), http.StatusServiceUnavailable, 3*time.Second)
	if p := l.pause(); p != 0 {
		t.Errorf("pause after a 503 = %v, want none", p)
	}
	l.observe(clk.now(), http.StatusTooManyRequests, 3*time.Second)
	clk.advance(time.Second)
	l.observe(clk.now(), http.StatusTooManyRequests, time.Second)
	if p := l.pause(); p != 2*time.Second {
		t.Errorf("pause = %v, want the first 429's 2 s left", p)
	}
	clk.advance(2 * time.Second)
	if p := l.pause(); p != 0 {
		t.Errorf("pause = %v once the Retry-After passed, want none", p)
	}
	_, _, th := l.state()
	if th.TooMany != 2 || th.Unavailable != 1 || th.LongestPause != 3*time.Second {
		t.Errorf("throttling = %+v, want 2 429s, 1 503, longest pause 3s", th)
	}
}

// TestLimiterAfterPushBack pins what follows a push back: any 5xx halves
// the limit as a 503 does; the limit does not grow until as long again as
// the server asked to wait has passed after the pause; and a Retry-After
// longer than a request waits pauses no other request.
func TestLimiterAfterPushBack(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(0, 0)}
	l := newLimiter(16, 64, clk.now)
	l.observe(clk.now(), http.StatusInternalServerError, 0)
	if limit, _, _ := l.state(); limit != 8 {
		t.Fatalf("limit = %d after a 500, want 8", limit)
	}
	clk.advance(time.Millisecond)
	l.observe(clk.now(), http.StatusTooManyRequests, 2*time.Second)
	if limit, _, _ := l.state(); limit != 4 || l.pause() != 2*time.Second {
		t.Fatalf("limit = %d, pause %v after a 429 asking for 2 s; want 4 and 2s", limit, l.pause())
	}
	clk.advance(2 * time.Second) // the pause is over
	if got := window(l, clk, 40*time.Millisecond); got != 4 {
		t.Errorf("limit = %d after a flat window right after the pause, want 4: no growth for 2 s more", got)
	}
	clk.advance(2 * time.Second)
	if got := window(l, clk, 40*time.Millisecond); got != 5 {
		t.Errorf("limit = %d after a flat window once calm, want 5", got)
	}
	clk.advance(time.Millisecond)
	l.observe(clk.now(), http.StatusTooManyRequests, time.Hour)
	if p := l.pause(); p != 0 {
		t.Errorf("a Retry-After of an hour paused every request for %v; the request it answered ends instead", p)
	}
}
