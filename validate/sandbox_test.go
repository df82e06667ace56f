package validate

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sbdeploy/bundle"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the time zone test's zone, where no zoneinfo is installed
)

// thrownMessage returns the message of the *Error that Check returns for a
// script that throws, failing the test for any other result.
func thrownMessage(t *testing.T, script []byte) string {
	t.Helper()
	err := Check(context.Background(), script, bundle.Migration, relaxed())
	var e *Error
	if !errors.As(err, &e) || e.Reason != Threw {
		t.Fatalf("Check: %v, want a throw", err)
	}
	return e.Message
}

// TestSandboxGlobals: the code sees ECMAScript's built-ins, the prelude's
// console and timers, the web APIs that web gives, and nothing else of
// Node, the web platform or the host.
func TestSandboxGlobals(t *testing.T) {
	t.Parallel()
	names := []string{"require", "process", "module", "global", "fetch", "Deno", "XMLHttpRequest",
		"WebSocket", "URL", "setTimeout", "setInterval", "clearTimeout", "console", "Date", "Promise",
		"crypto", "crypto.randomUUID", "crypto.getRandomValues", "crypto.subtle", "TextEncoder", "TextDecoder",
		"atob", "btoa", "structuredClone", "queueMicrotask", "DOMException"}
	var probe strings.Builder
	for _, n := range names {
		probe.WriteString(n + ":${typeof " + n + "} ")
	}
	got := thrownMessage(t, script("throw new Error(`"+probe.String()+"`);"))
	want := "Error: require:undefined process:undefined module:undefined global:undefined fetch:undefined " +
		"Deno:undefined XMLHttpRequest:undefined WebSocket:undefined URL:undefined setTimeout:function setInterval:function " +
		"clearTimeout:function console:object Date:function Promise:function crypto:object crypto.randomUUID:function " +
		"crypto.getRandomValues:function crypto.subtle:undefined TextEncoder:function TextDecoder:function atob:function " +
		"btoa:function structuredClone:function queueMicrotask:function DOMException:function "
	if got != want {
		t.Errorf("globals:\n got %s\nwant %s", got, want)
	}
}

// TestSandboxTimersAndConsole: timer callbacks never run, so none can run
// after Check returns, and console calls do nothing.
func TestSandboxTimersAndConsole(t *testing.T) {
	t.Parallel()
	code := script(`
const fire = () => { throw new Error("a timer fired"); };
const ids = [setTimeout(fire, 0), setInterval(fire, 1), setTimeout(fire)];
clearTimeout(ids[0]);
console.log("to stdout?"); console.error("to stderr?"); console.table([1]);
return {upgradeState: () => ids, upgradeContext: (c) => c};`)
	if err := Check(context.Background(), code, bundle.Migration, relaxed()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// TestSandboxReadsNoSourceMapFile: a sourceMappingURL that names a file,
// in the script or in code given to eval, is not read. The file here maps
// every position to secret.ts, so a read would show in the position.
func TestSandboxReadsNoSourceMapFile(t *testing.T) {
	t.Parallel()
	smap := filepath.Join(t.TempDir(), "secret.js.map")
	// Every line maps to secret.ts:2:1 (go-sourcemap drops mappings to 1:1).
	mapping := `{"version":3,"sources":["secret.ts"],"names":[],"mappings":"AACA;AAAA;AAAA;AAAA"}`
	if err := os.WriteFile(smap, []byte(mapping), 0o600); err != nil {
		t.Fatal(err)
	}
	// A file URL, as goja resolves a bare path against the script's name.
	url := "\n//# sourceMappingURL=file://" + filepath.ToSlash(smap) + "\n"
	tests := map[string][]byte{
		"script": []byte(string(script(`throw new Error("x");`)) + url),
		"eval":   script("eval(" + strconv.Quote(`throw new Error("x");`+url) + ");"),
	}
	for name, code := range tests {
		err := Check(context.Background(), code, bundle.Migration, relaxed())
		var e *Error
		if !errors.As(err, &e) || e.Reason != Threw {
			t.Fatalf("%s: Check: %v, want a throw", name, err)
		}
		if e.Pos.File == "secret.ts" {
			t.Errorf("%s: the position %v came from the sourcemap file", name, e.Pos)
		}
	}
	// And the same map inline is used: the test would pass vacuously if the
	// mapping above could not map anything.
	inline := "\n//# sourceMappingURL=data:application/json;base64," + base64.StdEncoding.EncodeToString([]byte(mapping)) + "\n"
	err := Check(context.Background(), []byte(string(script(`throw new Error("x");`))+inline), bundle.Migration, relaxed())
	var e *Error
	if !errors.As(err, &e) || e.Pos.File != "secret.ts" {
		t.Errorf("inline sourcemap: Check: %v (%#v), want a position in secret.ts", err, e)
	}
}

// TestDeterminism: the clock, the time zone and the random source are the
// same on every run and every machine, so the result of the same script is
// too. The fixture throws what it read; this process then runs the test
// again in a time zone 9 hours from UTC, where the local-time methods must
// still read UTC.
func TestDeterminism(t *testing.T) {
	t.Parallel()
	code := variant(t, "clock.ts")
	const want = "Error: 1704067200002 2024-01-01T00:00:00.001Z 0 0 0.6764556596678251"
	for i := range 2 {
		if got := thrownMessage(t, code); got != want {
			t.Errorf("run %d:\n got %s\nwant %s", i+1, got, want)
		}
	}
	const inTokyo = "SBDEPLOY_VALIDATE_IN_TOKYO"
	if os.Getenv(inTokyo) != "" {
		if _, offset := time.Now().Zone(); offset != 9*3600 {
			t.Fatalf("the local zone is %d s from UTC, want 9 h: the test would prove nothing", offset)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDeterminism$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "TZ=Asia/Tokyo", inTokyo+"=1")
	if out, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("--- PASS: TestDeterminism")) {
		t.Errorf("in Asia/Tokyo: %v\n%s", err, out)
	}
}
