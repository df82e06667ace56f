package validate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"sbdeploy/bundle"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTimeout: a top-level infinite loop is interrupted at the timeout,
// and Check returns soon after.
func TestTimeout(t *testing.T) {
	t.Parallel()
	code := variant(t, "infinite-loop.ts")
	tests := []struct {
		name     string
		timeout  time.Duration
		limit    string
		min, max time.Duration
	}{
		// Under the 500 ms that Check would wait for an engine that did not
		// stop: an interrupted loop stops at once.
		{"short", 50 * time.Millisecond, "50ms", 40 * time.Millisecond, 400 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			err := Check(context.Background(), code, bundle.MachineVersion, Options{Timeout: tt.timeout, MaxHeapBytes: 1 << 30})
			elapsed := time.Since(start)
			assertError(t, err, &Error{Reason: Timeout, Limit: tt.limit},
				"evaluation did not finish within "+tt.limit+", the check's time limit: is there an infinite loop at the top level?")
			if elapsed < tt.min || elapsed > tt.max {
				t.Errorf("Check took %v, want %v to %v", elapsed, tt.min, tt.max)
			}
		})
	}
}

// TestCancel: ending ctx interrupts the engine, and Check returns an error
// that wraps ctx's, not an *Error: the code is not at fault.
func TestCancel(t *testing.T) {
	t.Parallel()
	code := variant(t, "infinite-loop.ts")
	cause := errors.New("the workflow was canceled")
	tests := []struct {
		name   string
		ctx    func(t *testing.T) context.Context
		want   error
		before time.Duration
	}{
		{"during the evaluation", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(100*time.Millisecond, func() { cancel(cause) })
			return ctx
		}, cause, time.Second},
		{"before the evaluation", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled, 50 * time.Millisecond},
		{"deadline", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx(t)
			start := time.Now()
			err := Check(ctx, code, bundle.MachineVersion, relaxed())
			elapsed := time.Since(start)
			var e *Error
			if !errors.Is(err, tt.want) || errors.As(err, &e) {
				t.Errorf("Check: %v (%T), want an error that wraps %v and is no *Error", err, err, tt.want)
			}
			if elapsed > tt.before {
				t.Errorf("Check took %v, want under %v", elapsed, tt.before)
			}
		})
	}
}

// TestDefaults pins the bounds that zero Options mean, which the other
// tests replace with shorter ones: the mechanism is the same at any value.
// TestStartupWork checks that they are large enough.
func TestDefaults(t *testing.T) {
	t.Parallel()
	got, err := Options{}.withDefaults()
	if err != nil || got.Timeout != 5*time.Second || got.MaxHeapBytes != 256<<20 {
		t.Errorf("Options{} means %+v, %v; want a 5s timeout and a 256 MiB bound", got, err)
	}
	if msg := (&Error{Reason: TooMuchMemory, Limit: bytesString(got.MaxHeapBytes)}).Error(); !strings.Contains(msg, "used more than 256 MiB") {
		t.Errorf("the default bound reads %q, want 256 MiB", msg)
	}
	if msg := (&Error{Reason: Timeout, Limit: got.Timeout.String()}).Error(); !strings.Contains(msg, "did not finish within 5s") {
		t.Errorf("the default timeout reads %q, want 5s", msg)
	}
	if _, err := (Options{Timeout: -time.Second}).withDefaults(); err == nil {
		t.Error("a negative Timeout was accepted")
	}
}

// TestStartupWork: ordinary work at the top level (startupWork) passes
// with the default bounds. Not parallel: the bound is on the process's
// heap, which the other tests would move.
func TestStartupWork(t *testing.T) {
	for _, w := range startupWork {
		t.Run(w.name, func(t *testing.T) {
			// The race detector makes the engine up to ten times slower;
			// the memory bound is the default's either way.
			opts := Options{Timeout: DefaultTimeout * raceSlowdown}
			if err := Check(context.Background(), script(w.body), bundle.Migration, opts); err != nil {
				t.Fatalf("Check: %v", err)
			}
		})
	}
}

// TestMemoryBound: code that allocates without bound at the top level is
// interrupted once the heap has grown by about MaxHeapBytes.
// Not parallel: the bound is on the process's heap, which concurrent tests
// would move, and the bombs' heaps would fail concurrent checks.
func TestMemoryBound(t *testing.T) {
	for _, entry := range []string{"memory-bomb.ts", "string-bomb.ts"} {
		t.Run(entry, func(t *testing.T) {
			code := variant(t, entry)
			start := time.Now()
			// A timeout far above the time the bound takes, so that only
			// the bound can end the evaluation in time.
			err := Check(context.Background(), code, bundle.Migration, Options{Timeout: 20 * time.Second, MaxHeapBytes: 16 << 20})
			elapsed := time.Since(start)
			assertError(t, err, &Error{Reason: TooMuchMemory, Limit: "16 MiB"},
				"evaluation used more than 16 MiB, the check's memory limit: does the top level allocate without bound?")
			if elapsed > 10*time.Second {
				t.Errorf("Check took %v, want well under the 20s timeout", elapsed)
			}
			// goja cannot interrupt one doubling, so the string may double
			// once to three times more after the heap passes the bound;
			// without the bound the process passes 768 MiB by far
			// (BENCHMARKS.md, The evaluation's memory bound).
			if peak, ok := peakRSS(t); ok {
				t.Logf("peak RSS %d MiB", peak>>20)
				if peak > 768<<20 {
					t.Errorf("peak RSS %d MiB, want under 768 MiB", peak>>20)
				}
			}
		})
	}
}

// peakRSS returns the process's peak resident set size, on Linux.
func peakRSS(t *testing.T) (uint64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("parse VmHWM %q: %v", v, err)
			}
			return kb << 10, true
		}
	}
	return 0, false
}

// TestStringLimit: the built-ins that make one string of a length the code
// chooses refuse one over maxStringLength at once, before allocating it;
// goja cannot be interrupted inside them, so without this one call could
// take gigabytes. Strings of ordinary size are unchanged.
func TestStringLimit(t *testing.T) {
	t.Parallel()
	if !strings.Contains(prelude, fmt.Sprintf("var MAX = %d;", maxStringLength)) {
		t.Fatalf("the prelude's MAX is not maxStringLength (%d)", maxStringLength)
	}
	const mib = `const mib = "x".repeat(1 << 20);`
	for name, body := range map[string]string{
		"repeat":          mib + `mib.repeat(1 << 12);`,
		"padStart":        `"x".padStart(2 ** 31);`,
		"padEnd":          `"x".padEnd(2 ** 31);`,
		"concat":          mib + `mib.concat(...new Array(64).fill(mib));`,
		"join":            mib + `new Array(64).fill(mib).join("");`,
		"toString":        mib + `String(new Array(64).fill(mib));`,
		"template string": mib + "`${new Array(64).fill(mib)}`;",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code := script(body + `return {upgradeState: () => 1, upgradeContext: () => 1};`)
			start := time.Now()
			err := Check(context.Background(), code, bundle.Migration, relaxed())
			var ve *Error
			if !errors.As(err, &ve) || ve.Reason != Threw || !strings.Contains(ve.Message, "Invalid string length") {
				t.Fatalf("Check: %v, want the code to throw RangeError: Invalid string length", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v: the string was built before it was refused?", d)
			}
		})
	}
	ordinary := script(`const a = ["a", "b", null, 1].join("-") + "x".repeat(3) + "y".padStart(3, ".") + "z".concat("!") + String([1, [2, 3]]);
if (a !== "a-b--1xxx..yz!1,2,3") throw new Error(a);
return {upgradeState: () => a, upgradeContext: () => 1};`)
	if err := Check(context.Background(), ordinary, bundle.Migration, relaxed()); err != nil {
		t.Errorf("ordinary strings: %v", err)
	}
}
