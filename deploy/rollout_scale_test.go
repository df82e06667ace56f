package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// TestRolloutCountsFailedAndGoesOn makes the first instance's every
// attempt fail with 503: it is counted and named as failed, not stranded,
// every other instance is still asked, the error says so, and the counts
// add up to the instances listed.
func TestRolloutCountsFailedAndGoesOn(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, rolloutConfig(6, 2, 1))
	em.Inject(emulator.StepSetInstanceVersion, 2, testkit.Fault{Status: 503})
	res, err := newClient(t, url, deploy.WithAttempts(2)).Rollout(context.Background(),
		deploy.Rollout{Machine: "toggle", To: "ver_2", MaxConcurrency: 1})
	if !errors.Is(err, deploy.ErrInstancesFailed) || !strings.Contains(err.Error(), "instance a-00") {
		t.Errorf("err = %v, want ErrInstancesFailed naming a-00", err)
	}
	want := deploy.RolloutResult{
		Instances: 9, Before: map[string]int{"ver_1": 6, "ver_2": 2, "ver_3": 1},
		After:    map[string]int{"ver_1": 1, "ver_2": 7, "ver_3": 1},
		OnTarget: 2, Asked: 5, Stranded: 1, StrandedNames: []string{"c-00"}, Failed: 1, FailedNames: []string{"a-00"},
		Throttling: deploy.Throttling{Attempts: 8, Unavailable: 2, PeakLimit: 1},
	}
	res.Took = 0
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if sum := res.OnTarget + res.Asked + res.Stranded + res.Failed; sum != res.Instances {
		t.Errorf("on target, asked, stranded and failed add up to %d, want the %d listed", sum, res.Instances)
	}
}

// TestRolloutPausesEveryRequestOnRetryAfter answers the first request to
// move with 429 and Retry-After: 2. The request that got it waits 2 s
// before its retry, as ever, and so do the first attempts of the others
// that start after it: the client waits (through WithSleep) more than once
// for about 2 s.
func TestRolloutPausesEveryRequestOnRetryAfter(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, rolloutConfig(30, 0, 0))
	em.InjectSequence(emulator.StepSetInstanceVersion,
		testkit.Fault{Status: 429, Header: http.Header{"Retry-After": {"2"}}})
	var mu sync.Mutex
	var pauses int
	sleep := deploy.WithSleep(func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if d > time.Second && d <= 2*time.Second {
			pauses++
		}
		return ctx.Err()
	})
	res, err := newClient(t, url, sleep).Rollout(context.Background(), deploy.Rollout{Machine: "toggle", To: "ver_2"})
	if err != nil {
		t.Fatal(err)
	}
	if pauses < 2 {
		t.Errorf("%d waits of about 2 s, want the retry's and the others'", pauses)
	}
	th := res.Throttling
	if res.Asked != 30 || th.TooMany != 1 || th.LongestPause != 2*time.Second || th.Attempts != 31 {
		t.Errorf("result %+v, want 30 asked in 31 attempts, one 429 and a 2 s pause", res)
	}
	if got := steps(em)[emulator.StepSetInstanceVersion]; got != 31 {
		t.Errorf("%d requests to move, want 31: each instance once, plus one retry", got)
	}
}

// TestRolloutListsAheadOfRequests holds every request to move until the
// listing has asked for a page past the first: the listing does not wait
// for a page's requests.
func TestRolloutListsAheadOfRequests(t *testing.T) {
	t.Parallel()
	em := testkit.New(func() emulator.Config { c := rolloutConfig(40, 0, 0); c.Token = token; return c }())
	var lists atomic.Int32
	ahead := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if lists.Add(1) == 2 {
				once.Do(func() { close(ahead) })
			}
		} else {
			select {
			case <-ahead:
			case <-time.After(10 * time.Second): // bounded: the test then fails
			}
		}
		em.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	start := time.Now()
	res, err := newClient(t, srv.URL).Rollout(context.Background(), deploy.Rollout{Machine: "toggle", To: "ver_2", MaxConcurrency: 4})
	if err != nil || res.Asked != 40 {
		t.Fatalf("rollout = %+v, %v; want 40 asked", res, err)
	}
	if time.Since(start) > 9*time.Second {
		t.Errorf("the requests to move waited for the listing's second page: it was not asked for while they were held")
	}
	if n := lists.Load(); n != 10 {
		t.Errorf("%d list requests, want 10 pages of 4", n)
	}
}

// TestRolloutRefusesConcurrencyOutOfBounds checks the bounds of
// MaxConcurrency: nothing is sent outside them.
func TestRolloutRefusesConcurrencyOutOfBounds(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, rolloutConfig(1, 0, 0))
	for _, n := range []int{-1, deploy.MaxMaxConcurrency + 1} {
		_, err := newClient(t, url).Rollout(context.Background(), deploy.Rollout{Machine: "toggle", To: "ver_2", MaxConcurrency: n})
		if err == nil || !strings.Contains(err.Error(), "max concurrency must be from 1 to 256") {
			t.Errorf("MaxConcurrency %d: err = %v, want it refused", n, err)
		}
	}
	if n := em.Served(); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}
