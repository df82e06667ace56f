package deploy

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"sbdeploy/emulator"
)

// The tests inside the package reach what its API keeps to itself: a
// client's HTTP client and retry waits, and the steps of a deploy one by
// one. Their helpers are deploy_test.go's, for this side.

const testToken = "sbtest_token"

// newEmulator serves an emulator with cfg until the test ends, by default
// with testToken and the machine toggle at ver_1 and ver_2, and returns it
// and its URL.
func newEmulator(t *testing.T, cfg emulator.Config) (*emulator.Emulator, string) {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.Machines == nil {
		cfg.Machines = map[string][]string{"toggle": {"ver_1", "ver_2"}}
	}
	em := emulator.New(cfg)
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	return em, srv.URL
}

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
func requestsOf(em *emulator.Emulator, step emulator.Step) int {
	n := 0
	for _, r := range em.Requests() {
		if r.Step == step {
			n++
		}
	}
	return n
}
