package bundle

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/internal/testkit"
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
			b, err := Build(context.Background(), Options{Dir: dir, Entry: tt.entry, Kind: Migration})
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
			if got := testkit.Gunzip(t, b.Gzipped); !bytes.Equal(got, b.Code) {
				t.Error("Gzipped does not decompress to Code")
			}
		})
	}
}

// TestBuildOptions checks, independently of the golden files, each property
// of the output that the service depends on.
func TestBuildOptions(t *testing.T) {
	t.Parallel()
	b, err := Build(context.Background(), Options{Dir: testdataDir(t, "kitchen-sink"), Entry: "entry.ts", Kind: Migration})
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
		_, err := Build(context.Background(), Options{Dir: testdataDir(t, "syntax-error"), Entry: "entry.ts", Kind: Migration})
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
		_, err := Build(context.Background(), Options{Dir: testdataDir(t, "unresolved"), Entry: "entry.ts", Kind: Migration})
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
		_, err := Build(context.Background(), Options{Dir: testdataDir(t, "syntax-error"), Entry: "nope.ts"})
		var be *BuildError
		if !errors.As(err, &be) || !strings.Contains(be.Error(), "nope.ts") {
			t.Fatalf("err = %v, want *BuildError naming nope.ts", err)
		}
	})
	t.Run("missing exports are named", func(t *testing.T) {
		t.Parallel()
		_, err := Build(context.Background(), Options{Dir: testdataDir(t, "missing-exports"), Entry: "entry.ts", Kind: Migration})
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
		if _, err := Build(context.Background(), Options{Dir: "testdata", Entry: "entry.ts"}); err == nil {
			t.Fatal("Build with a relative Dir succeeded")
		}
	})
}

// TestBuildSizeLimits builds one module under limits exactly at its sizes,
// which it meets, and one byte under each, which it exceeds, and checks that
// the error gives both sizes and both limits. Over the gzipped limit, Build
// compresses as small as it can before it gives up.
func TestBuildSizeLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Random hex compresses to about half, so the two sizes differ.
	src := "export const upgradeState = (s) => s;\nexport const upgradeContext = (c) => c;\nexport const blob = \"" + randomHex(t, 2000) + "\";\n"
	if err := os.WriteFile(filepath.Join(dir, "big.js"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(l Limits) (*Bundle, error) {
		return Build(context.Background(), Options{Dir: dir, Entry: "big.js", Kind: Migration, Limits: l})
	}
	b, err := build(Limits{})
	if err != nil {
		t.Fatalf("under the service's limits: %v", err)
	}
	raw, fast := len(b.Code), len(b.Gzipped)
	smallest, err := gzipSmallest(b.Code)
	if err != nil {
		t.Fatal(err)
	}
	best := len(smallest)
	if best >= fast {
		t.Fatalf("the smallest gzip (%d bytes) is not smaller than Gzip's (%d): the fallback is not tested", best, fast)
	}
	tests := []struct {
		name    string
		limits  Limits
		over    bool
		gzipped int // the size of Gzipped, or of the gzipped code in the error
	}{
		{"exactly at both limits", Limits{Raw: raw, Gzipped: fast}, false, fast},
		{"over the gzipped limit, but not as small as it can be", Limits{Raw: raw, Gzipped: best}, false, best},
		{"one byte over the raw limit", Limits{Raw: raw - 1, Gzipped: fast}, true, fast},
		{"one byte over the gzipped limit, as small as it can be", Limits{Raw: raw, Gzipped: best - 1}, true, best},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := build(tt.limits)
			var se *SizeError
			if got := errors.As(err, &se); got != tt.over {
				t.Fatalf("err = %v, want a *SizeError: %v", err, tt.over)
			}
			if !tt.over {
				if len(b.Gzipped) != tt.gzipped || !bytes.Equal(testkit.Gunzip(t, b.Gzipped), b.Code) {
					t.Errorf("Gzipped is %d bytes, want %d that decompress to Code", len(b.Gzipped), tt.gzipped)
				}
				return
			}
			if want := (&SizeError{Raw: raw, Gzipped: tt.gzipped, Limits: tt.limits}); *se != *want {
				t.Errorf("err = %+v, want %+v", se, want)
			}
			for _, n := range []int{raw, tt.gzipped, tt.limits.Raw, tt.limits.Gzipped} {
				if !strings.Contains(err.Error(), strconv.Itoa(n)) {
					t.Errorf("error %q does not give %d", err, n)
				}
			}
		})
	}
}

// TestLimitsZeroMeansTheService checks that zero Limits, which Build is
// given above, are the service's limits.
func TestLimitsZeroMeansTheService(t *testing.T) {
	t.Parallel()
	if got, want := (Limits{}).OrService(), (Limits{Raw: MaxRawBytes, Gzipped: MaxGzippedBytes}); got != want {
		t.Errorf("zero Limits are %+v, want %+v", got, want)
	}
	if l := (Limits{Raw: 1}); l.OrService() != l {
		t.Errorf("Limits %+v became %+v", l, l.OrService())
	}
}

func TestGzipRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range [][]byte{nil, []byte("export{}"), []byte(strings.Repeat("xyz", 100_000))} {
		gz, err := Gzip(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := testkit.Gunzip(t, gz); !bytes.Equal(got, in) {
			t.Errorf("round trip of %d bytes gave %d bytes", len(in), len(got))
		}
	}
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
