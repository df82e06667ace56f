package deploy

import (
	"context"
	"testing"
	"time"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// The tests inside the package reach what its API keeps to itself: a
// client's HTTP client and retry waits, and the steps of a deploy one by
// one. Their helpers are deploy_test.go's, for this side.

const testToken = testkit.Token

// newClient is a client of the API at baseURL with testToken and opts,
// whose retries work out their waits and do not spend them.
func newClient(t *testing.T, baseURL string, opts ...Option) *Client {
	t.Helper()
	noWait := WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() })
	c, err := New(baseURL, testToken, append([]Option{noWait}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// requestsOf counts the requests of step that em recorded.
func requestsOf(em *testkit.Emu, step emulator.Step) int {
	n := 0
	for _, r := range em.Requests() {
		if r.Step == step {
			n++
		}
	}
	return n
}
