package deploy_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"sbdeploy/bundle"
	"sbdeploy/deploy"
	"sbdeploy/emulator"
)

// BenchmarkDeploy measures a whole migration deploy against the
// in-process emulator, as one run of the action does it: a new client, the
// three requests over a new connection, and (in "bundle+requests") bundling
// and gzipping the example migration first. Every deploy must send exactly 3
// requests over 1 connection, or the benchmark fails: a fourth request or a
// second handshake is a cost the action must not pay.
func BenchmarkDeploy(b *testing.B) {
	example, err := filepath.Abs(filepath.Join("..", "testdata", "example"))
	if err != nil {
		b.Fatal(err)
	}
	built, err := bundle.Build(context.Background(), bundle.Options{Dir: example, Entry: "migrations/toggle-v1-to-v2.ts", Kind: bundle.Migration})
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		bundle bool
	}{{"requests", false}, {"bundle+requests", true}} {
		b.Run(tt.name, func(b *testing.B) {
			const benchToken = "sbbench_token"
			em := emulator.New(emulator.Config{Token: benchToken, Machines: map[string][]string{"toggle": {"ver_1", "ver_2"}}})
			var conns, requests atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				em.ServeHTTP(w, r)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()

			b.ReportAllocs()
			for b.Loop() {
				code := built.Gzipped
				if tt.bundle {
					out, err := bundle.Build(context.Background(), bundle.Options{Dir: example, Entry: "migrations/toggle-v1-to-v2.ts", Kind: bundle.Migration})
					if err != nil {
						b.Fatal(err)
					}
					code = out.Gzipped
				}
				c, err := deploy.New(srv.URL, benchToken)
				if err != nil {
					b.Fatal(err)
				}
				m := deploy.Migration{Machine: "toggle", From: "ver_1", To: "ver_2", Code: code, Gzipped: true}
				if _, err := c.Deploy(context.Background(), m, nil); err != nil {
					b.Fatal(err)
				}
				// Each client has its own transport: closing its idle
				// connections makes the next deploy start cold, like a new
				// process.
				c.CloseIdleConnections()

				b.StopTimer()
				if n := requests.Swap(0); n != 3 {
					b.Fatalf("a deploy sent %d requests, want exactly 3", n)
				}
				if c := conns.Swap(0); c != 1 {
					b.Fatalf("a deploy opened %d connections, want 1 reused for all three requests", c)
				}
				b.StartTimer()
			}
		})
	}
}
