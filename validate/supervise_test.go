package validate

import (
	"errors"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestHeapWatch drives heapWatch.over with a heap size and a collection
// the test controls: past the hard limit it stops the code at once,
// without waiting for a collection; past the soft one it confirms with a
// collection first, stopping only if the heap is still past it afterwards.
func TestHeapWatch(t *testing.T) {
	t.Parallel()
	const soft, hard = 100, 200
	type sample struct {
		heap      uint64 // what the sample reads, unless collected
		afterGC   uint64 // what the heap is once the collection has run
		collected bool   // the collection ends before this sample
		want      bool
	}
	tests := []struct {
		name        string
		samples     []sample
		collections int
	}{
		{name: "under the bound", samples: []sample{{heap: 50, want: false}, {heap: soft, want: false}}},
		{name: "past the hard limit: at once", samples: []sample{{heap: hard + 1, want: true}}},
		{name: "past soft, garbage", collections: 1, samples: []sample{
			{heap: soft + 1, afterGC: 10, want: false},
			{heap: soft + 50, collected: false, want: false}, // still collecting: wait
			{collected: true, want: false},                   // after it: 10, under soft
		}},
		{name: "past soft, live", collections: 1, samples: []sample{
			{heap: soft + 1, afterGC: soft + 1, want: false},
			{collected: true, want: true},
		}},
		{name: "past hard while collecting", collections: 1, samples: []sample{
			{heap: soft + 1, afterGC: 10, want: false},
			{heap: hard + 1, collected: false, want: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var heap, afterGC uint64
			collections := 0
			release := make(chan struct{})
			w := &heapWatch{soft: soft, hard: hard, read: func() uint64 { return heap }, collect: func() {
				collections++
				<-release
				heap = afterGC
			}}
			for i, s := range tt.samples {
				heap = s.heap
				if s.afterGC != 0 {
					afterGC = s.afterGC
				}
				if s.collected { // the collection ends: the heap is afterGC
					close(release)
					waitCollected(t, w)
				}
				if got := w.over(); got != s.want {
					t.Fatalf("sample %d (heap %d): over() = %t, want %t", i+1, s.heap, got, s.want)
				}
			}
			if w.collected != nil {
				close(release)
				waitCollected(t, w)
			}
			if collections != tt.collections {
				t.Errorf("%d collections, want %d", collections, tt.collections)
			}
		})
	}
}

// waitCollected waits until the collection w started has ended.
func waitCollected(t *testing.T, w *heapWatch) {
	t.Helper()
	select {
	case <-w.collected:
	case <-time.After(10 * time.Second):
		t.Fatal("the collection did not end")
	}
}

// TestMemoryBoundIgnoresGarbage: garbage past the bound does not stop the
// code, even with the collector off, as it is under a high GOGC until the
// heap is large; live memory past it does. The test drives the watch that
// Check makes, which reads the heap with runtime/metrics and collects with
// runtime.GC, with memory it allocates itself: past the bound and under
// twice it, then the confirming collection, with no sampler to race. Not
// parallel: the watch reads the process's heap, and the test turns the
// collector off for the process.
func TestMemoryBoundIgnoresGarbage(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	const bound = 16 << 20
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "garbage", true: "live"}[live], func(t *testing.T) {
			w := newHeapWatch(bound)
			var kept [][]byte
			for range 12 { // 24 MiB
				b := make([]byte, 2<<20)
				if live {
					kept = append(kept, b)
				}
			}
			if w.over() {
				t.Fatal("over() = true before a collection confirmed it")
			}
			if w.collected == nil {
				t.Fatalf("the heap grew by %d MiB, past the %d MiB bound, and no collection confirms it", (w.read()-(w.soft-bound))>>20, bound>>20)
			}
			waitCollected(t, w)
			if got := w.over(); got != live {
				t.Errorf("after the collection, over() = %t, want %t", got, live)
			}
			runtime.KeepAlive(kept)
		})
	}
}

// TestRestartGivesEachCallTheLimit checks that restart starts the time
// limit over: three steps of 80% of the limit each pass, together past the
// limit and the grace, and one step past both is stopped.
func TestRestartGivesEachCallTheLimit(t *testing.T) {
	t.Parallel()
	const limit = time.Second
	s := newSandbox(nil)
	err := s.do(t.Context(), Options{Timeout: limit, MaxHeapBytes: DefaultMaxHeapBytes}, func() error {
		for range 3 {
			s.restart()
			time.Sleep(limit * 8 / 10)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("three steps within the limit each: %v", err)
	}
	err = s.do(t.Context(), Options{Timeout: limit, MaxHeapBytes: DefaultMaxHeapBytes}, func() error {
		s.restart()
		time.Sleep(limit + 2*grace)
		return nil
	})
	var e *Error
	if !errors.As(err, &e) || e.Reason != Timeout {
		t.Errorf("one step past the limit: %v, want a Timeout", err)
	}
}
