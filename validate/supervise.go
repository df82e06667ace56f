package validate

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/dop251/goja"
)

const (
	// sampleEvery is how often the heap is sampled: the heap passes the
	// bound by at most what the code allocates in that time (except within
	// one allocation, see DefaultMaxHeapBytes).
	sampleEvery = 2 * time.Millisecond
	// grace is how long Check waits for the engine to stop after an
	// interrupt. goja sees an interrupt only between instructions, not
	// inside a built-in such as a long Array.prototype.join, so Check gives
	// up waiting and lets the engine stop on its own.
	grace = 500 * time.Millisecond
)

// do runs fn, which uses the engine, on a goroutine of its own within
// opts's bounds (zero fields: the defaults; see supervise), unless ctx has
// ended. A panic inside the engine becomes an error: it would otherwise
// end the whole process, from a goroutine no caller can recover. After an
// interrupt that the engine did not stop for in time, the sandbox is not
// used again.
func (s *sandbox) do(ctx context.Context, opts Options, fn func() error) error {
	if s.stuck {
		return errors.New("validate: the engine is still running a call it was told to stop")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("evaluation canceled: %w", context.Cause(ctx))
	}
	heap := newHeapWatch(opts.MaxHeapBytes) // before the engine allocates
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("validate: the engine failed: %v", p)
			}
		}()
		done <- fn()
	}()
	err = s.supervise(ctx, done, heap, opts)
	s.vm.ClearInterrupt()
	return err
}

// supervise waits for the evaluation's result, interrupting the engine when
// the timeout passes, ctx ends or the heap grows past the bound.
func (s *sandbox) supervise(ctx context.Context, done <-chan error, heap *heapWatch, opts Options) error {
	timer := time.NewTimer(opts.Timeout)
	defer timer.Stop()
	ticker := time.NewTicker(sampleEvery)
	defer ticker.Stop()
	for {
		select {
		case err := <-done:
			return result(err)
		case <-s.restarts:
			timer.Reset(opts.Timeout)
		case <-timer.C:
			return s.interrupt(done, &Error{Reason: Timeout, Limit: opts.Timeout.String()})
		case <-ctx.Done():
			return s.interrupt(done, fmt.Errorf("evaluation canceled: %w", context.Cause(ctx)))
		case <-ticker.C:
			if heap.over() {
				return s.interrupt(done, &Error{Reason: TooMuchMemory, Limit: bytesString(opts.MaxHeapBytes)})
			}
		}
	}
}

// interrupt stops the engine with reason and waits a little for it. An
// evaluation that finished before it saw the interrupt keeps its result.
func (s *sandbox) interrupt(done <-chan error, reason error) error {
	s.vm.Interrupt(reason)
	select {
	case err := <-done:
		return result(err)
	case <-time.After(grace):
		s.stuck = true
		return reason
	}
}

// result unwraps the reason an interrupted evaluation carries; other
// results are evaluate's own.
func result(err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if reason, ok := ie.Value().(error); ok {
			return reason
		}
	}
	return err
}

// heapWatch tells when the Go heap has grown more than a bound above the
// live heap at the start.
//
// runtime/metrics reads the heap without stopping the world, unlike
// runtime.ReadMemStats, but what it reads counts dead objects until the
// collector sweeps them, and the heap is the whole process's. So the watch
// starts with a collection: after an esbuild build the heap is mostly
// garbage, which would otherwise loosen the bound by as much, and a
// collection alongside the evaluation would wait for goja's long,
// unpreemptible copies. A crossing of the bound is confirmed by another
// collection, run on
// its own goroutine so that sampling goes on, so that garbage (this
// evaluation's or another goroutine's) does not stop the code; code that
// allocates fast (a doubling string, a loop of typed arrays) can grow the
// heap by another bound during one, so a heap twice the bound above the
// start stops the code at once.
type heapWatch struct {
	read       func() uint64 // the heap's size
	collect    func()        // a collection
	soft, hard uint64        // past soft, confirm; past hard, stop
	collected  chan struct{} // closed when the confirming collection ends; nil when none runs
}

func newHeapWatch(max uint64) *heapWatch {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	w := &heapWatch{collect: runtime.GC, read: func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}}
	w.collect()
	live := w.read()
	w.soft, w.hard = live+max, live+2*max
	return w
}

// over reports whether the code must be stopped: the heap is past the hard
// limit, or still past the soft one after a collection.
func (w *heapWatch) over() bool {
	heap := w.read()
	if heap > w.hard {
		return true
	}
	if w.collected != nil {
		select {
		case <-w.collected:
			w.collected = nil
			return w.read() > w.soft
		default:
			return false
		}
	}
	if heap > w.soft {
		done := make(chan struct{})
		w.collected = done
		go func() {
			w.collect()
			close(done)
		}()
	}
	return false
}

// bytesString formats a byte count for a message.
func bytesString(n uint64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
