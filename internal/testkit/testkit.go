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
func Main(m *testing.M) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	Exit(m.Run())
}

// MainWaiting is Main with at least atLeast parallel tests at once, unless
// -parallel was given: for packages whose tests mostly wait (on loopback
// connections, on faults that hold a request, on timeouts), which go
// test's default, one per core, leaves idle on a small machine.
func MainWaiting(m *testing.M, atLeast int) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(max(atLeast, runtime.GOMAXPROCS(0))))
	}
	Main(m)
}
