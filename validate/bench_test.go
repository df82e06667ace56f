package validate

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sbdeploy/bundle"
	"sync"
	"testing"
	"time"
)

// BenchmarkCheck measures what the check adds to every deploy of a machine
// version: evaluating a small machine with xstate bundled in, and its
// inline sourcemap, and checking its exports.
func BenchmarkCheck(b *testing.B) {
	script := variant(b, "machine.ts")
	b.SetBytes(int64(len(script)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(context.Background(), script, bundle.MachineVersion, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// startupWork is ordinary work at the top level, which the defaults must
// allow with room to spare (TestStartupWork); BenchmarkStartupWork
// measures what it costs the engine.
var startupWork = []struct{ name, body string }{
	// A table of 100,000 rows.
	{"rows", `const rows = Array.from({length: 100000}, (_, i) => ({id: i, name: "row" + i, tags: ["a", "b"]}));
return {upgradeState: () => rows, upgradeContext: (c) => c};`},
	// A sieve, string munging, a sort and a JSON round trip: work without a
	// large heap.
	{"compute", `const n = 1000000, sieve = new Uint8Array(n + 1), primes = [];
for (let i = 2; i <= n; i++) if (!sieve[i]) { primes.push(i); for (let j = i * i; j <= n; j += i) sieve[j] = 1; }
const labels = [];
for (let i = 0; i < 10000; i++) labels.push(` + "`state-${i}`" + `.toUpperCase().split("-").reverse().join("_"));
let seed = 1;
const numbers = Array.from({length: 50000}, () => (seed = (seed * 1103515245 + 12345) % 2147483648));
numbers.sort((a, b) => a - b);
const config = JSON.parse(JSON.stringify(Array.from({length: 5000}, (_, i) => ({id: i, label: labels[i], next: [i + 1, i + 2]}))));
return {upgradeState: () => [primes, numbers, config], upgradeContext: (c) => c};`},
}

// BenchmarkStartupWork measures the engine's time and Go heap for each of
// startupWork: ms/op, the evaluation alone; live-MiB, what the heap holds
// after it, with the script's values still reachable, as the memory
// bound's confirming collection sees it; peak-MiB, the most the heap held
// (garbage too) over the start, sampled every millisecond; the largest of
// each over the runs. ns/op includes two collections per run.
func BenchmarkStartupWork(b *testing.B) {
	for _, w := range startupWork {
		b.Run(w.name, func(b *testing.B) {
			code := script(w.body)
			var took time.Duration
			var live, peak uint64
			for b.Loop() {
				d, l, p := cost(b, code)
				took, live, peak = max(took, d), max(live, l), max(peak, p)
			}
			b.ReportMetric(float64(took)/float64(time.Millisecond), "max-ms")
			b.ReportMetric(float64(live)/(1<<20), "live-MiB")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		})
	}
}

// cost evaluates a migration's code, unsupervised, and returns how long
// that took and how far the heap grew above its live size at the start:
// with the code's values live, after a collection, and at most while it
// ran.
func cost(tb testing.TB, code []byte) (took time.Duration, live, peak uint64) {
	read := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	runtime.GC()
	start := read()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	})
	begin := time.Now()
	s := newSandbox(code)
	err := s.evaluate(bundle.Migration)
	took = time.Since(begin)
	close(stop)
	wg.Wait()
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	live = read()
	runtime.KeepAlive(s)
	return took, live - min(live, start), peak - min(peak, start)
}
