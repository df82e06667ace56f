package bundle

import (
	"sync/atomic"
	"time"
)

// ProgressInterval is the least time between two calls of Options.Progress
// while esbuild runs.
const ProgressInterval = time.Second

// A progress counts the modules that one run of esbuild loads, and tells
// report the count from a ticker's goroutine of its own and, once that has
// stopped, from finish's: esbuild's goroutines, which load the modules,
// only add to a counter, and report is never called concurrently.
type progress struct {
	loaded atomic.Int64
	report func(loaded int) // nil: nothing is told, and no goroutine runs
	told   int              // the count report was last given
	stop   chan struct{}    // closed by finish
	done   chan struct{}    // closed when the goroutine has returned
}

// startProgress starts telling report, every interval while the count
// changes, how many modules have been loaded. report may be nil.
func startProgress(report func(loaded int), interval time.Duration) *progress {
	p := &progress{report: report}
	if report == nil {
		return p
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.tell()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// loadedOne counts one module loaded, if p is not nil. Its goroutine may
// be any of esbuild's.
func (p *progress) loadedOne() {
	if p != nil {
		p.loaded.Add(1)
	}
}

// tell gives report the count if it has changed since the last time.
func (p *progress) tell() {
	if n := int(p.loaded.Load()); n != p.told {
		p.told = n
		p.report(n)
	}
}

// finish stops the reports, and, if complete (esbuild has finished, so
// every module it loaded is counted), tells the total. report is never
// called once finish has returned.
func (p *progress) finish(complete bool) {
	if p.report == nil {
		return
	}
	close(p.stop)
	<-p.done
	if complete {
		p.tell()
	}
}
