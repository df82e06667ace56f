package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// MaxStrandedNames is how many stranded instances a RolloutResult names;
// the rest are counted.
const MaxStrandedNames = 20

// maxVersionsCounted bounds RolloutResult.Before: a listing with more
// distinct versions counts the rest under OtherVersions.
const maxVersionsCounted = 100

// OtherVersions is the key of RolloutResult.Before that counts instances on
// versions past the first maxVersionsCounted.
const OtherVersions = "(other versions)"

// Rollout describes moving every instance of a machine to a version.
type Rollout struct {
	Machine string
	To      string // the version ID to move instances to
	// DryRun lists and counts, and asks no instance to move.
	DryRun bool
	// MaxConcurrency bounds the requests in flight, 1 to MaxMaxConcurrency;
	// 0 means DefaultMaxConcurrency. Below it the limit adapts (see
	// limiter), starting from StartConcurrency.
	MaxConcurrency int
	// Progress, if not nil, is called after each instance answered (asked,
	// stranded or failed), never concurrently.
	Progress func(RolloutProgress)
}

// RolloutProgress is how far a rollout has got.
type RolloutProgress struct {
	Listed, Asked, Stranded, Failed int
	InFlight, Limit                 int // requests in flight now, and the most allowed
}

// RolloutResult is what a rollout found and did. Once it has run to the
// end, every instance listed is counted once: OnTarget + Asked + Stranded +
// Failed = Instances (on a dry run, OnTarget + Asked).
type RolloutResult struct {
	// Instances is how many instances the listing showed.
	Instances int
	// Before counts the listed instances by the version they ran (by ID;
	// "" when the server did not say). After counts them by the version they
	// will run once the next event reaches them: the target for those asked
	// to move and those on it already, their own for the stranded and the
	// failed. A dry run leaves After empty.
	Before, After map[string]int
	// OnTarget is how many already ran the target version, and were not
	// asked again.
	OnTarget int
	// Asked is how many were asked to move and accepted (on a dry run: how
	// many would be asked).
	Asked int
	// Stranded is how many have no migration path to the target (400
	// no-migration-path); StrandedNames names the first MaxStrandedNames,
	// sorted.
	Stranded      int
	StrandedNames []string
	// Failed is how many could not be asked: every attempt failed in a way
	// a retry could fix (no answer, 429, 5xx). FailedNames names the first
	// MaxStrandedNames, sorted.
	Failed      int
	FailedNames []string
	// Throttling is what the requests that ask instances to move met.
	Throttling Throttling
	// Took is how long the rollout took, from the first page asked for.
	Took time.Duration
}

// ErrInstancesFailed is wrapped by the error of a rollout that ran to the
// end but could not ask some instances (RolloutResult.Failed).
var ErrInstancesFailed = errors.New("instances could not be asked to move")

// Rollout asks every instance of r.Machine that does not run r.To to move
// to it, each once (plus its retries). The listing runs a page ahead of the
// requests, so at most two pages are held. The requests in flight adapt to
// the server (see limiter): a 429, a 5xx, no answer or a rise in latency
// halves them; a 429's Retry-After pauses them all.
//
// An instance with no migration path to r.To is stranded, and one whose
// attempts all failed in a way a retry could fix is failed: each is counted
// and the rollout goes on; failed ones then make the error wrap
// ErrInstancesFailed. Any other error ends the rollout: no new request
// starts, those under way finish, and the result says how far it got. The
// API moves an instance when the next event reaches it, so a rollout can be
// run again: an instance already asked is asked again, and the answer is
// the same.
func (c *Client) Rollout(ctx context.Context, r Rollout) (RolloutResult, error) {
	res := RolloutResult{Before: map[string]int{}, After: map[string]int{}}
	if !validID(r.To) {
		return res, fmt.Errorf("invalid target version %q: %s", r.To, idRule)
	}
	limit := cmp.Or(r.MaxConcurrency, DefaultMaxConcurrency)
	if limit < 1 || limit > MaxMaxConcurrency {
		return res, fmt.Errorf("max concurrency must be from 1 to %d, not %d", MaxMaxConcurrency, limit)
	}
	start := time.Now()
	ro := &rollout{c: c, r: r, res: &res, l: newLimiter(StartConcurrency, limit, time.Now), stop: make(chan struct{})}
	err := ro.run(ctx)
	slices.Sort(res.StrandedNames) // the requests finish in any order
	slices.Sort(res.FailedNames)
	if !r.DryRun {
		_, _, res.Throttling = ro.l.state()
	}
	res.Took = time.Since(start)
	if err == nil && res.Failed > 0 {
		err = fmt.Errorf("%d %w after their retries; the last failure: %w", res.Failed, ErrInstancesFailed, ro.lastFailure)
	}
	return res, err
}

// rollout is one run of Client.Rollout: what the listing and the requests
// share.
type rollout struct {
	c   *Client
	r   Rollout
	l   *limiter
	wg  sync.WaitGroup
	mu  sync.Mutex // guards what follows, and res once the listing is done with a page
	res *RolloutResult
	// stop is closed by the first error that ends the rollout, stopErr.
	stop        chan struct{}
	stopErr     error
	lastFailure error
}

// run lists the instances in a goroutine of its own, a page ahead, and
// counts each page's instances and starts a request for each one to move as
// slots free up, until the pages end, ctx ends or a request stops the
// rollout, whichever comes first.
func (ro *rollout) run(ctx context.Context) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan []Instance) // unbuffered: the listing holds one page while one is worked on
	listed := make(chan error, 1)
	go func() {
		defer close(pages)
		listed <- ro.c.Instances(lctx, ro.r.Machine, func(page []Instance) error {
			select {
			case pages <- page:
				return nil
			case <-lctx.Done():
				return lctx.Err()
			}
		})
	}()
dispatch:
	for page := range pages {
		for _, in := range ro.count(page) {
			if ro.l.acquire(ctx) != nil {
				break dispatch
			}
			select {
			case <-ro.stop:
				ro.l.release()
				break dispatch
			default:
			}
			ro.wg.Go(func() {
				defer ro.l.release()
				ro.done(in, ro.ask(ctx, in.Slug))
			})
		}
	}
	cancel() // the listing, if the requests stopped before its end
	for range pages {
	}
	ro.wg.Wait()
	listErr := <-listed
	if ro.stopErr != nil {
		return ro.stopErr
	}
	return cmp.Or(ctx.Err(), listErr)
}

// count counts a page's instances, and returns those to ask to move: none
// on a dry run, which counts them as asked.
func (ro *rollout) count(page []Instance) []Instance {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	res, move := ro.res, page[:0:0]
	for _, in := range page {
		res.Instances++
		count(res.Before, in.Version.ID)
		switch {
		case in.Version.ID == ro.r.To:
			res.OnTarget++
			if !ro.r.DryRun {
				count(res.After, ro.r.To)
			}
		case ro.r.DryRun:
			res.Asked++
		default:
			move = append(move, in)
		}
	}
	return move
}

// ask asks one instance to move (PUT /machines/{machine}/i/{instance}/v),
// each attempt waiting out a pause and reporting its answer to the limiter.
// The API moves it the next time an event reaches it from a settled state,
// and refuses with 400 no-migration-path when no chain of migrations leads
// to the target.
func (ro *rollout) ask(ctx context.Context, instance string) error {
	c, l := ro.c, ro.l
	path, err := instancePath(ro.r.Machine, instance, "/v")
	if err != nil {
		return err
	}
	body := struct {
		Target string `json:"targetMachineVersionId"`
	}{ro.r.To}
	r, err := c.newRequest(StepSetInstanceVersion, http.MethodPut, path, nil, body)
	if err != nil {
		return err
	}
	return c.retry(ctx, r.step, func(actx context.Context) error {
		if wait := l.pause(); wait > 0 {
			if err := c.sleep(actx, wait); err != nil {
				return err
			}
		}
		sent := l.sent()
		err := c.attempt(actx, r, nil)
		// An attempt cut short by the rollout's end says nothing of the
		// server; one that ran out of its own time is no answer.
		if ctx.Err() == nil {
			status, retryAfter := answerOf(err)
			l.observe(sent, status, retryAfter)
		}
		return err
	})
}

// done records what asking in to move came to.
func (ro *rollout) done(in Instance, err error) {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	res := ro.res
	var tooLong *retryAfterError
	switch {
	case err == nil:
		res.Asked++
		count(res.After, ro.r.To)
	case isAPIError(err, http.StatusBadRequest, "no-migration-path"):
		res.Stranded++
		res.StrandedNames = addName(res.StrandedNames, in.Slug)
		count(res.After, in.Version.ID)
	case retryable(err) && !errors.As(err, &tooLong) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		res.Failed++
		res.FailedNames = addName(res.FailedNames, in.Slug)
		count(res.After, in.Version.ID)
		ro.lastFailure = fmt.Errorf("instance %s: %w", in.Slug, err)
	default:
		if ro.stopErr == nil {
			ro.stopErr = fmt.Errorf("instance %s: %w", in.Slug, err)
			close(ro.stop)
		}
		return
	}
	if ro.r.Progress != nil {
		limit, inFlight, _ := ro.l.state()
		ro.r.Progress(RolloutProgress{Listed: res.Instances, Asked: res.Asked, Stranded: res.Stranded, Failed: res.Failed,
			InFlight: inFlight - 1, Limit: limit}) // this request's slot is released after
	}
}

// answerOf is the status of the answer an attempt got (0 for none) and
// its Retry-After.
func answerOf(err error) (int, time.Duration) {
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Status, apiErr.RetryAfter
	case errors.As(err, new(*transportError)):
		return 0, 0
	}
	return http.StatusOK, 0 // success, or an answer that is not usable
}

// addName adds name to names while they are fewer than MaxStrandedNames.
func addName(names []string, name string) []string {
	if len(names) < MaxStrandedNames {
		names = append(names, name)
	}
	return names
}

// count counts one instance on version, keeping at most
// maxVersionsCounted versions apart: a listing with a new version on every
// instance cannot grow the map without bound.
func count(counts map[string]int, version string) {
	if _, ok := counts[version]; !ok && len(counts) >= maxVersionsCounted {
		version = OtherVersions
	}
	counts[version]++
}
