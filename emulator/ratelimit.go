package emulator

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// pacer makes API answers take time and refuses what is past a rate, as
// Config's Latency, Capacity, RateLimit and RateBurst say.
type pacer struct {
	latency time.Duration
	slots   chan struct{} // one per request served at once; nil: no bound
	rate    float64       // tokens a second; 0: no limit
	burst   float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newPacer(cfg Config) *pacer {
	p := &pacer{latency: cfg.Latency, rate: cfg.RateLimit, burst: float64(cfg.RateBurst)}
	if cfg.Capacity > 0 {
		p.slots = make(chan struct{}, cfg.Capacity)
	}
	if p.burst <= 0 {
		p.burst = max(1, math.Ceil(p.rate)) // one second's worth
	}
	p.tokens, p.last = p.burst, time.Now()
	return p
}

// pace serves a request through serve once it is admitted: past the rate
// it is answered 429 with the whole seconds until a token is due in
// Retry-After (at least 1); then it waits for a slot, and holds it for the
// latency before being served.
func (p *pacer) pace(serve func(http.ResponseWriter, *http.Request, []byte)) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		if wait, ok := p.take(); !ok {
			p.sleep(r, p.latency)
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			writeJSON(w, http.StatusTooManyRequests, &apiError{Message: "rate limit exceeded: retry after the time in Retry-After", Code: "rate-limited"})
			return
		}
		if p.slots != nil {
			select {
			case p.slots <- struct{}{}:
				defer func() { <-p.slots }()
			case <-r.Context().Done():
				return
			}
		}
		p.sleep(r, p.latency)
		serve(w, r, body)
	}
}

// take takes a token, or says how long until one is due.
func (p *pacer) take() (time.Duration, bool) {
	if p.rate == 0 {
		return 0, true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
	p.last = now
	if p.tokens >= 1 {
		p.tokens--
		return 0, true
	}
	return time.Duration((1 - p.tokens) / p.rate * float64(time.Second)), false
}

// sleep waits d, or until the client goes away.
func (p *pacer) sleep(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}
