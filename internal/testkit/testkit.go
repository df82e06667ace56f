// Package testkit holds helpers that the tests of several packages share.
// Only tests import it.
package testkit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Outputs reads a GITHUB_OUTPUT file, as the runner does: name<<delimiter,
// the value's lines, the delimiter. A file that does not exist holds none.
func Outputs(tb testing.TB, path string) map[string]string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, delim, ok := strings.Cut(sc.Text(), "<<")
		if !ok {
			tb.Fatalf("malformed output line %q", sc.Text())
		}
		var value []string
		for sc.Scan() && sc.Text() != delim {
			value = append(value, sc.Text())
		}
		got[name] = strings.Join(value, "\n")
	}
	return got
}

// ReadFile returns the file at path, or "" if there is none.
func ReadFile(tb testing.TB, path string) string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	return string(data)
}

// Gunzip returns the gzip stream gz decompressed.
func Gunzip(tb testing.TB, gz []byte) []byte {
	tb.Helper()
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Main runs m's tests with the collector at GOGC=400, the setting a deploy
// runs with, unless GOGC is set, and exits with their result (Exit). Test
// binaries live for seconds and hold little, and the race detector makes
// each collection several times dearer (BENCHMARKS.md, The test suite).
func Main(m *testing.M, opts ...MainOption) {
	var c mainConfig
	for _, o := range opts {
		o(&c)
	}
	if c.parallel > 0 {
		flag.Parse()
		set := false
		flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
		if !set {
			_ = flag.Set("test.parallel", strconv.Itoa(max(c.parallel, runtime.GOMAXPROCS(0))))
		}
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	before := runtime.NumGoroutine()
	code := m.Run()
	if c.leavesWork && raceEnabled {
		settle(before, time.Second)
	}
	Exit(code)
}

// settle waits, at most for limit, until no more than n goroutines run.
func settle(n int, limit time.Duration) {
	for deadline := time.Now().Add(limit); runtime.NumGoroutine() > n && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
}

// A MainOption changes how Main runs a package's tests.
type MainOption func(*mainConfig)

type mainConfig struct {
	parallel   int
	leavesWork bool
}

// Parallel runs at least n parallel tests at once, unless -parallel was
// given: for packages whose tests mostly wait (on loopback connections, on
// faults that hold a request, on timeouts), which go test's default, one
// per core, leaves idle on a small machine.
func Parallel(n int) MainOption { return func(c *mainConfig) { c.parallel = n } }

// LeavesWork is for packages whose code leaves work running on purpose when
// a test cuts it off (a build or an evaluation past its deadline). Under
// -race, before it exits, Main waits for the goroutines started since it
// began to end, for at most the second the race runtime would wait (Exit),
// so that races in that work are still reported and counted.
func LeavesWork(c *mainConfig) { c.leavesWork = true }
