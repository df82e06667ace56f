// Package testkit holds helpers that the tests of several packages share.
// Only tests import it.
package testkit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"sbdeploy/emulator"
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

// Gzip returns b gzipped.
func Gzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Token is the token Emulator accepts unless cfg names another.
const Token = "sbtest_token"

// Emulator serves an emulator of the API with cfg until the test ends (by
// default with Token and the machine toggle at ver_1 and ver_2), and
// returns it and its URL.
func Emulator(tb testing.TB, cfg emulator.Config) (*emulator.Emulator, string) {
	tb.Helper()
	if cfg.Token == "" {
		cfg.Token = Token
	}
	if cfg.Machines == nil {
		cfg.Machines = map[string][]string{"toggle": {"ver_1", "ver_2"}}
	}
	em := emulator.New(cfg)
	srv := httptest.NewServer(em)
	tb.Cleanup(srv.Close)
	return em, srv.URL
}
