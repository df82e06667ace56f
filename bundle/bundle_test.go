package bundle

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/bundle")

func testdataDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "bundle", name))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBuildGolden bundles each success case and compares the code with
// testdata/bundle/<case>/want.js (rewritten with -update).
func TestBuildGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, entry string
		exports     []string
	}{
		{"kitchen-sink", "entry.ts", []string{"Upgrader", "upgradeContext", "upgradeState"}},
		{"xstate-subpath", "entry.js", []string{"upgradeContext", "upgradeState"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := testdataDir(t, tt.name)
			b, err := Build(Options{Dir: dir, Entry: tt.entry, Exports: MigrationExports})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if diff := cmp.Diff(tt.exports, b.Exports); diff != "" {
				t.Errorf("exports (-want +got):\n%s", diff)
			}
			golden := filepath.Join(dir, "want.js")
			if *update {
				if err := os.WriteFile(golden, b.Code, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./bundle -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(b.Code)); diff != "" {
				t.Errorf("code (-want +got):\n%s", diff)
			}
			if got := gunzip(t, b.Gzipped); !bytes.Equal(got, b.Code) {
				t.Error("Gzipped does not decompress to Code")
			}
		})
	}
}

// TestBuildOptions checks, independently of the golden files, each property
// of the output that the service depends on.
func TestBuildOptions(t *testing.T) {
	t.Parallel()
	b, err := Build(Options{Dir: testdataDir(t, "kitchen-sink"), Entry: "entry.ts", Exports: MigrationExports})
	if err != nil {
		t.Fatal(err)
	}
	code := string(b.Code)
	for _, tt := range []struct {
		name   string
		substr string
		want   bool
	}{
		{"xstate aliased to the external npm:xstate", `from"npm:xstate"`, true},
		{"no bare xstate import", `from"xstate"`, false},
		{"node_modules package bundled", "Math.max", true},
		{"keepNames keeps the class name", `"Upgrader"`, true},
		{"legal comments dropped", "legal comment", false},
		{"debugger dropped", "debugger", false},
		{"NODE_ENV defined as production", "development build", false},
		{"minified: no indentation", "\n  ", false},
		{"ES module export", "export{", true},
		{"ES2022 kept: object spread not lowered", "...", true},
	} {
		if got := strings.Contains(code, tt.substr); got != tt.want {
			t.Errorf("%s: strings.Contains(code, %q) = %v, want %v", tt.name, tt.substr, got, tt.want)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	t.Run("syntax error is located in the source", func(t *testing.T) {
		t.Parallel()
		_, err := Build(Options{Dir: testdataDir(t, "syntax-error"), Entry: "entry.ts", Exports: MigrationExports})
		var be *BuildError
		if !errors.As(err, &be) {
			t.Fatalf("err = %v, want *BuildError", err)
		}
		want := []Message{{File: "entry.ts", Line: 6, Column: 23, Text: `Expected "}" but found ";"`}}
		if diff := cmp.Diff(want, be.Messages); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
	})
	t.Run("unresolved package names the import", func(t *testing.T) {
		t.Parallel()
		_, err := Build(Options{Dir: testdataDir(t, "unresolved"), Entry: "entry.ts", Exports: MigrationExports})
		var be *BuildError
		if !errors.As(err, &be) || len(be.Messages) != 1 {
			t.Fatalf("err = %v, want one *BuildError message", err)
		}
		m := be.Messages[0]
		if m.File != "entry.ts" || m.Line != 1 || !strings.Contains(m.Text, "left-pad-not-installed") {
			t.Errorf("message = %+v, want entry.ts:1 naming the package", m)
		}
	})
	t.Run("missing entry point", func(t *testing.T) {
		t.Parallel()
		_, err := Build(Options{Dir: testdataDir(t, "syntax-error"), Entry: "nope.ts"})
		var be *BuildError
		if !errors.As(err, &be) || !strings.Contains(be.Error(), "nope.ts") {
			t.Fatalf("err = %v, want *BuildError naming nope.ts", err)
		}
	})
	t.Run("missing exports are named", func(t *testing.T) {
		t.Parallel()
		_, err := Build(Options{Dir: testdataDir(t, "missing-exports"), Entry: "entry.ts", Exports: MigrationExports})
		var ee *ExportsError
		if !errors.As(err, &ee) {
			t.Fatalf("err = %v, want *ExportsError", err)
		}
		want := &ExportsError{Entry: "entry.ts", Missing: []string{"upgradeContext"}, Have: []string{"upgradeState", "version"}}
		if diff := cmp.Diff(want, ee); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("relative Dir is refused", func(t *testing.T) {
		t.Parallel()
		if _, err := Build(Options{Dir: "testdata", Entry: "entry.ts"}); err == nil {
			t.Fatal("Build with a relative Dir succeeded")
		}
	})
}

// TestBuildSizeLimits writes modules just over each limit and checks that the
// error gives both sizes.
func TestBuildSizeLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// literal is the string literal the module exports.
		literal func() string
		overRaw bool
		overGz  bool
	}{
		{
			// Random hex compresses to about half: 2.2 MB of it gzips past 1 MB.
			name:    "over the gzipped limit",
			literal: func() string { return randomHex(t, 1_100_000) },
			overGz:  true,
		},
		{
			// A repeated letter compresses to almost nothing.
			name:    "over the raw limit",
			literal: func() string { return strings.Repeat("a", MaxRawBytes) },
			overRaw: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src := "export const upgradeState = (s) => s;\nexport const upgradeContext = (c) => c;\nexport const blob = \"" + tt.literal() + "\";\n"
			if err := os.WriteFile(filepath.Join(dir, "big.js"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Build(Options{Dir: dir, Entry: "big.js", Exports: MigrationExports})
			var se *SizeError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SizeError", err)
			}
			if got := se.Raw > MaxRawBytes; got != tt.overRaw {
				t.Errorf("raw %d over limit = %v, want %v", se.Raw, got, tt.overRaw)
			}
			if got := se.Gzipped > MaxGzippedBytes; got != tt.overGz {
				t.Errorf("gzipped %d over limit = %v, want %v", se.Gzipped, got, tt.overGz)
			}
			for _, n := range []int{se.Raw, se.Gzipped, MaxRawBytes, MaxGzippedBytes} {
				if !strings.Contains(err.Error(), strconv.Itoa(n)) {
					t.Errorf("error %q does not give %d", err, n)
				}
			}
		})
	}
}

func TestGzipRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range [][]byte{nil, []byte("export{}"), []byte(strings.Repeat("xyz", 100_000))} {
		gz, err := Gzip(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := gunzip(t, gz); !bytes.Equal(got, in) {
			t.Errorf("round trip of %d bytes gave %d bytes", len(in), len(got))
		}
	}
}

func gunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
