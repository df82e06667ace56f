package deploy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Retry defaults: 4 attempts in all, waits from about 0.5 s doubling to at
// most 10 s, each with up to ±50% jitter; 60 s for any one request.
const (
	DefaultAttempts       = 4
	DefaultRequestTimeout = 60 * time.Second
	minWait               = 500 * time.Millisecond
	maxWait               = 10 * time.Second
	// maxRetryAfter is the longest Retry-After honoured; a longer one ends
	// the step at once rather than waiting out the run's timeout.
	maxRetryAfter = 60 * time.Second
)

// RetryEvent reports a failed attempt that will be retried.
type RetryEvent struct {
	Step     Step
	Attempt  int // the attempt that failed, from 1
	Attempts int // attempts in all
	Err      error
	Wait     time.Duration
	// Reprovision reports an upload refused with 403 (the presigned POST
	// may have expired): the migration is provisioned again, once.
	Reprovision bool
}

// WithAttempts sets how many times each request is tried in all (1 means no
// retries).
func WithAttempts(n int) Option {
	return func(c *Client) error {
		if n < 1 || n > 20 {
			return fmt.Errorf("attempts must be from 1 to 20, not %d", n)
		}
		c.attempts = n
		return nil
	}
}

// WithRequestTimeout bounds each attempt of each request.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("request timeout must be positive, not %v", d)
		}
		c.requestTimeout = d
		return nil
	}
}

// WithSleep replaces how the client waits between attempts; sleep returns
// early with ctx's error when ctx ends. Tests use it to record the waits
// instead of spending them.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) error {
		if sleep == nil {
			return errors.New("sleep must not be nil")
		}
		c.sleep = sleep
		return nil
	}
}

// WithRetryNotify calls notify before each wait for a retry.
func WithRetryNotify(notify func(RetryEvent)) Option {
	return func(c *Client) error {
		c.onRetry = notify
		return nil
	}
}

// transportError is an attempt that got no complete answer: the connection
// failed, was reset, or timed out. It is retried unless TLS verification
// failed. sent reports whether the request left (its headers were
// written): only such an attempt may have taken effect unanswered.
type transportError struct {
	err  error
	sent bool
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// retryable is the retry policy, in one place: connection failures and
// timeouts of one attempt, 429, and 5xx other than 501. Nothing else: other
// 4xx will not change, and a 2xx answer that cannot be used is not retried
// (the request may have taken effect).
func retryable(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status == http.StatusTooManyRequests ||
			apiErr.Status >= 500 && apiErr.Status != http.StatusNotImplemented
	}
	// crypto/tls reports every failed verification of a server's
	// certificate as a *tls.CertificateVerificationError.
	return errors.As(err, new(*transportError)) && !errors.As(err, new(*tls.CertificateVerificationError)) &&
		!errors.As(err, new(*internalAddressError))
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date; 0
// for none.
func parseRetryAfter(h string, now time.Time) time.Duration {
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// retry runs attempt, each try under its own timeout, until it succeeds,
// fails in a way that retrying cannot fix, or runs out of attempts or time.
// Between attempts it waits the server's Retry-After, or the next backoff;
// a Retry-After longer than maxRetryAfter ends it at once.
func (c *Client) retry(ctx context.Context, step Step, attempt func(context.Context) error) error {
	waits := backoff.ExponentialBackOff{InitialInterval: minWait, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: maxWait}
	waits.Reset()
	lost := false // an earlier attempt left and got no answer: it may have taken effect
	for tries := 1; ; tries++ {
		err := c.try(ctx, step, attempt)
		if err == nil {
			return nil
		}
		var wait time.Duration
		if apiErr := (*APIError)(nil); errors.As(err, &apiErr) {
			wait = apiErr.RetryAfter
		}
		switch {
		case ctx.Err() != nil || !retryable(err):
			return failed(ctx, step, tries, err, lost)
		case wait > maxRetryAfter:
			return &retryAfterError{wait: wait, err: err}
		case tries == c.attempts:
			return failed(ctx, step, tries, err, lost)
		case wait > 0:
			waits.Reset() // the server's wait replaces the backoff's
		default:
			wait = waits.NextBackOff()
		}
		if c.onRetry != nil {
			c.onRetry(RetryEvent{Step: step, Attempt: tries, Attempts: c.attempts, Err: err, Wait: wait})
		}
		if c.sleep(ctx, wait) != nil {
			return failed(ctx, step, tries, err, lost)
		}
		if te := (*transportError)(nil); errors.As(err, &te) && te.sent {
			lost = true
		}
	}
}

// try makes one attempt under the request timeout. An attempt that
// outlives it is a transport error that says so.
func (c *Client) try(ctx context.Context, step Step, attempt func(context.Context) error) error {
	actx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	err := attempt(actx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		sent := true // unless the attempt says it never left
		if te := (*transportError)(nil); errors.As(err, &te) {
			sent = te.sent
		}
		err = &transportError{sent: sent, err: fmt.Errorf("%s: no answer within %v", step, c.requestTimeout)}
	}
	return err
}

// failed is the error of a request that will not be tried again, after
// tries attempts; last is the last attempt's error.
func failed(ctx context.Context, step Step, tries int, last error, lost bool) error {
	switch {
	case ctx.Err() != nil && !errors.Is(last, ctx.Err()):
		return fmt.Errorf("%s: %w after %d attempt(s); the last failed with: %w", step, ctx.Err(), tries, last)
	case tries > 1:
		return &retriedError{attempts: tries, err: last, lostAnswer: lost}
	}
	return last
}

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d): // the timer is garbage once sleep returns
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryAfterError is an answer whose Retry-After is longer than a step
// waits: waiting it out would spend the run's time for nothing.
type retryAfterError struct {
	wait time.Duration
	err  error
}

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("%v\n  the server asks to wait %v before retrying, longer than the %v this client waits", e.err, e.wait, maxRetryAfter)
}
func (e *retryAfterError) Unwrap() error { return e.err }

// retriedError is the last error of a request that was tried more than once.
type retriedError struct {
	attempts   int
	err        error
	lostAnswer bool // an earlier attempt got no answer
}

func (e *retriedError) Error() string { return fmt.Sprintf("after %d attempts: %v", e.attempts, e.err) }
func (e *retriedError) Unwrap() error { return e.err }

// goneAfterRetry reports a 404 to a deletion whose earlier attempt got no
// answer: that attempt most likely did the deleting.
func goneAfterRetry(err error) bool {
	var r *retriedError
	return IsNotFound(err) && errors.As(err, &r) && r.lostAnswer
}
