package bundle

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/testdata/genapp"
)

// TestProgressReachesTheModulesLoaded builds with Options.Progress set, and
// checks that the counts it is told rise to the number of modules that
// esbuild's metafile lists for the same build. The callback appends to a
// slice without a lock: -race fails if two calls overlap.
func TestProgressReachesTheModulesLoaded(t *testing.T) {
	t.Parallel()
	gen := t.TempDir()
	genEntry, err := genapp.Write(gen, 100)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		o     Options
		check bool // BuildCheck too (xstate is installed, or not imported)
	}{
		{"with node_modules and xstate", Options{Dir: testdataDir(t, "kitchen-sink"), Entry: "entry.ts", Kind: Migration}, false},
		{"101 modules", Options{Dir: gen, Entry: genEntry, Kind: Migration}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := buildOne(context.Background(), tt.o, withMetafile)
			if err != nil {
				t.Fatal(err)
			}
			var meta struct {
				Inputs map[string]json.RawMessage `json:"inputs"`
			}
			if err := json.Unmarshal([]byte(res.Metafile), &meta); err != nil {
				t.Fatal(err)
			}
			want := len(meta.Inputs)

			var counts []int
			tt.o.Progress = func(n int) { counts = append(counts, n) }
			if _, err := Build(context.Background(), tt.o); err != nil {
				t.Fatal(err)
			}
			if len(counts) == 0 || counts[len(counts)-1] != want {
				t.Fatalf("Progress was told %v, want counts ending with the %d modules loaded", counts, want)
			}
			for i := 1; i < len(counts); i++ {
				if counts[i] <= counts[i-1] {
					t.Errorf("Progress was told %v: not rising", counts)
				}
			}

			if !tt.check {
				return
			}
			counts = nil
			if _, err := BuildCheck(context.Background(), tt.o, Check{GlobalName: "m", Outfile: "check.js"}); err != nil {
				t.Fatal(err)
			}
			if len(counts) == 0 || counts[len(counts)-1] != want {
				t.Errorf("BuildCheck told Progress %v, want counts ending with %d", counts, want)
			}
		})
	}
}

// TestProgressTellsFromOneGoroutine loads modules from many goroutines,
// as esbuild does, and checks that the count is told while they load, from
// one goroutine at a time, rising, with the total last, and never after
// finish.
func TestProgressTellsFromOneGoroutine(t *testing.T) {
	t.Parallel()
	const loaders, each = 8, 500
	var (
		counts []int // no lock: -race fails if two calls overlap
		inCall atomic.Int32
		last   atomic.Int64 // the count last told, for this goroutine to wait on
	)
	p := startProgress(func(n int) {
		if inCall.Add(1) != 1 {
			t.Error("Progress called concurrently")
		}
		counts = append(counts, n)
		last.Store(int64(n))
		inCall.Add(-1)
	}, time.Millisecond)
	load := func() {
		var wg sync.WaitGroup
		for range loaders {
			wg.Go(func() {
				for range each {
					p.loadedOne()
				}
			})
		}
		wg.Wait()
	}
	load()
	// The ticker tells the count while the build runs.
	for deadline := time.Now().Add(10 * time.Second); last.Load() != loaders*each; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d modules loaded, but Progress was told %d", loaders*each, last.Load())
		}
	}
	load()
	p.finish(true)
	if got := len(counts); got < 2 || counts[got-1] != 2*loaders*each {
		t.Fatalf("told %v, want at least two counts, ending with %d", counts, 2*loaders*each)
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] <= counts[i-1] {
			t.Fatalf("told %v: not rising", counts)
		}
	}
	after := len(counts)
	p.loadedOne()
	time.Sleep(20 * time.Millisecond)
	if len(counts) != after {
		t.Errorf("told %v after finish", counts[after:])
	}
}

// TestProgressFinish checks what finish tells when the ticker has not: the
// total if esbuild finished, nothing if it was cancelled, and nothing
// without a callback.
func TestProgressFinish(t *testing.T) {
	t.Parallel()
	for _, complete := range []bool{true, false} {
		var counts []int
		p := startProgress(func(n int) { counts = append(counts, n) }, time.Hour)
		for range 3 {
			p.loadedOne()
		}
		p.finish(complete)
		want := []int(nil)
		if complete {
			want = []int{3}
		}
		if diff := cmp.Diff(want, counts); diff != "" {
			t.Errorf("finish(%v) told (-want +got):\n%s", complete, diff)
		}
	}
	p := startProgress(nil, time.Millisecond)
	p.loadedOne()
	p.finish(true)
	var none *progress
	none.loadedOne()
}
