package deploy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// TestCancelWhileWaiting checks that a run cancelled while it waits to
// retry ends at once, saying so and naming the failure it would have
// retried, with no further attempt. The client waits as it does in a run
// (the default waits, with the real sleep), and is cancelled as the wait
// begins.
func TestCancelWhileWaiting(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, emulator.Config{})
	em.Inject(emulator.StepFinalize, 1, testkit.Fault{Status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := New(url, testToken, WithRetryNotify(func(RetryEvent) { cancel() }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	done := make(chan error, 1)
	go func() {
		_, err := c.Deploy(ctx, preMigration, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "finalize: context canceled after 1 attempt(s); the last failed with: ") || !strings.Contains(err.Error(), "503") {
			t.Errorf("err = %v, want the cancellation after 1 attempt, naming the 503", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled run still waits to retry")
	}
	if got := requestsOf(em, emulator.StepFinalize); got != 1 {
		t.Errorf("%d finalize attempts, want 1", got)
	}
}

// TestTeardownRefusedConnectionIsNotALostAnswer: an attempt whose
// connection was refused never reached the server, so a 404 on the retry
// means the machine was gone before: not deleted by this run.
func TestTeardownRefusedConnectionIsNotALostAnswer(t *testing.T) {
	t.Parallel()
	_, url := testkit.Emulator(t, emulator.Config{})
	var dials atomic.Int64
	var d net.Dialer
	transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(transport.CloseIdleConnections)
	c := newClient(t, url)
	c.http = &http.Client{Transport: transport}
	res, err := c.Teardown(context.Background(), Teardown{Machine: "gone"})
	if err != nil || res.Deleted || !res.AlreadyGone {
		t.Fatalf("result %+v, err %v; want AlreadyGone and not Deleted", res, err)
	}
	if dials.Load() != 2 {
		t.Errorf("%d dials, want 2 (refused, then the retry)", dials.Load())
	}
}
