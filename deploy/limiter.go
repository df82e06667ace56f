package deploy

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Concurrency bounds of a rollout: it starts with StartConcurrency requests
// in flight and never has more than its MaxConcurrency, which is
// DefaultMaxConcurrency unless set, and at most MaxMaxConcurrency.
const (
	StartConcurrency      = 8
	DefaultMaxConcurrency = 64
	MaxMaxConcurrency     = 256
)

// A window of answers is a latency rise when its mean exceeds
// riseFactor times the baseline plus riseSlack. The slack keeps the jitter
// of a server on the same machine (a fraction of a millisecond doubling)
// from reading as a queue.
const (
	riseFactor = 1.5
	riseSlack  = 5 * time.Millisecond
)

// calm is the shortest time after a push back (a 429, a 5xx, no answer)
// in which the limit does not grow.
const calm = time.Second

// limiter is an adaptive bound on the requests in flight, additive increase
// and multiplicative decrease (AIMD), as TCP Vegas and Netflix's
// concurrency-limits do it:
//   - a window is as many answers as the limit, to requests sent at the
//     current limit. A window whose mean latency stays within riseFactor of
//     the best window seen (the baseline) grows the limit by one, up to max;
//     one past it halves the limit, and the baseline moves a quarter of the
//     way towards that mean, so a server that became slower for good stops
//     halving it after a few windows;
//   - a 429, a 5xx or no answer halves the limit at once, unless the request
//     was sent before the last change (that answer says nothing about the
//     limit now: many in flight would halve it many times), and the limit
//     does not grow again for as long as the server asked to wait (at least
//     calm) after the pause;
//   - a 429's Retry-After pauses every request, first attempts and retries
//     alike, until it has passed; one longer than a request waits
//     (maxRetryAfter) pauses none.
//
// It never goes below 1. Its clock is now, so that tests can pin its
// decisions.
type limiter struct {
	now func() time.Time

	mu       sync.Mutex
	limit    int
	max      int
	inFlight int
	freed    chan struct{} // closed, and replaced, when a slot frees or the limit grows
	changed  time.Time     // when the limit last changed
	answers  int           // in this window
	latency  time.Duration // summed over this window
	baseline time.Duration // the best window's mean; 0 before the first window
	until    time.Time     // no request is sent before it (a 429's Retry-After)
	calm     time.Time     // the limit does not grow before it (after a push back)
	stats    Throttling
}

// Throttling is what a rollout's requests met.
type Throttling struct {
	Attempts     int           // requests sent, retries included
	TooMany      int           // answered 429
	Unavailable  int           // answered 503
	LongestPause time.Duration // the longest Retry-After of a 429, which paused every request
	PeakLimit    int           // the most requests the limiter allowed in flight at once
}

func newLimiter(start, max int, now func() time.Time) *limiter {
	start = min(start, max)
	return &limiter{now: now, limit: start, max: max, freed: make(chan struct{}), changed: now(),
		stats: Throttling{PeakLimit: start}}
}

// acquire waits for a free slot, or until ctx ends.
func (l *limiter) acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.inFlight < l.limit {
			l.inFlight++
			l.mu.Unlock()
			return nil
		}
		freed := l.freed
		l.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release frees a slot acquire took.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	l.wake()
}

// wake lets waiting acquires look again. Callers hold l.mu.
func (l *limiter) wake() {
	close(l.freed)
	l.freed = make(chan struct{})
}

// pause is how long from now no request may be sent.
func (l *limiter) pause() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(0, l.until.Sub(l.now()))
}

// sent counts an attempt about to leave and returns when it left.
func (l *limiter) sent() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Attempts++
	return l.now()
}

// observe takes the answer to an attempt sent at sent: its status (0 for
// none) and, for a 429, the Retry-After asked for.
func (l *limiter) observe(sent time.Time, status int, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	current := !sent.Before(l.changed)
	switch {
	case status == http.StatusTooManyRequests:
		l.stats.TooMany++
		// A wait longer than a request waits ends that request (see
		// retry.go): it pauses no other.
		if until := now.Add(retryAfter); retryAfter <= maxRetryAfter && until.After(l.until) {
			l.until = until
			l.stats.LongestPause = max(l.stats.LongestPause, retryAfter)
		}
		fallthrough
	case status >= 500, status == 0:
		if status == http.StatusServiceUnavailable {
			l.stats.Unavailable++
		}
		// No growth until as long again as the server asked to wait (at
		// least calm) has passed after it: growing by a window at a time,
		// the limit would be back past the server's rate at once.
		for _, t := range []time.Time{l.until.Add(max(retryAfter, calm)), now.Add(calm)} {
			if t.After(l.calm) {
				l.calm = t
			}
		}
		if current {
			l.halve(now)
		}
		return
	}
	if !current {
		return
	}
	l.answers++
	l.latency += now.Sub(sent)
	if l.answers < l.limit {
		return
	}
	mean := l.latency / time.Duration(l.answers)
	if l.baseline == 0 || mean < l.baseline {
		l.baseline = mean
	}
	if float64(mean) > riseFactor*float64(l.baseline)+float64(riseSlack) {
		l.baseline += (mean - l.baseline) / 4
		l.halve(now)
		return
	}
	if now.Before(l.calm) {
		l.set(l.limit, now) // a new window at the same limit
		return
	}
	l.set(min(l.limit+1, l.max), now)
}

// halve halves the limit. Callers hold l.mu.
func (l *limiter) halve(now time.Time) { l.set(max(1, l.limit/2), now) }

// set starts a new window at limit n. Callers hold l.mu.
func (l *limiter) set(n int, now time.Time) {
	if n > l.limit {
		l.wake()
	}
	l.limit, l.changed, l.answers, l.latency = n, now, 0, 0
	l.stats.PeakLimit = max(l.stats.PeakLimit, n)
}

// state is the limit, the requests in flight, and what they met so far.
func (l *limiter) state() (limit, inFlight int, t Throttling) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit, l.inFlight, l.stats
}
