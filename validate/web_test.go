package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"sbdeploy/bundle"
)

// TestWebAPIs runs testdata/web-apis.js, which exercises each web API that
// web gives as the web platform specifies it (UTF-8 decoding of invalid
// bytes and streams, forgiving base64, structured clone's types and
// errors, microtask order, getRandomValues' checks), and compares what it
// reports with what Node reports, testdata/web-apis.json. Where Node is
// installed, the test checks that the file is still Node's output.
func TestWebAPIs(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/web-apis.js")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/web-apis.json")
	if err != nil {
		t.Fatal(err)
	}
	want = bytes.TrimSpace(want)
	if node, err := exec.LookPath("node"); err == nil {
		out, err := exec.Command(node, "testdata/web-apis.js").Output()
		if err != nil {
			t.Fatalf("node: %v", err)
		}
		if got := bytes.TrimSpace(out); !bytes.Equal(got, want) {
			t.Errorf("Node reports\n%s\nbut web-apis.json holds\n%s", got, want)
		}
	}
	// The script reports from a promise job; the throw carries the report.
	code := script("globalThis.report = (s) => { throw new Error(s); };\n" + string(src))
	got, ok := strings.CutPrefix(thrownMessage(t, code), "Uncaught (in promise) Error: ")
	if !ok || got != string(want) {
		t.Errorf("the sandbox reports\n%s\nNode\n%s", got, want)
	}
}

// TestCryptoRandom: crypto's bytes are the random source's, the one that
// Math.random reads, seeded the same on every run, so that a check's
// result is too; randomUUID makes a version 4 UUID of them.
func TestCryptoRandom(t *testing.T) {
	t.Parallel()
	code := script(`const hex = (a) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
throw new Error([hex(crypto.getRandomValues(new Uint8Array(12))), crypto.randomUUID(), Math.random()].join(" "));`)
	// What the sandbox's source gives: each call takes whole Uint64s, and
	// their bytes low first.
	r := rand.New(rand.NewPCG(1, 2))
	b := append(le(r.Uint64()), le(r.Uint64())...)[:12]
	uuid := append(le(r.Uint64()), le(r.Uint64())...)
	uuid[6] = uuid[6]&0x0f | 0x40
	uuid[8] = uuid[8]&0x3f | 0x80
	h := fmt.Sprintf("%x", uuid)
	want := fmt.Sprintf("Error: %x %s-%s-%s-%s-%s %v", b[:12], h[:8], h[8:12], h[12:16], h[16:20], h[20:], r.Float64())
	for i := range 2 {
		if got := thrownMessage(t, code); got != want {
			t.Errorf("run %d:\n got %s\nwant %s", i+1, got, want)
		}
	}
}

// le is n's bytes, low first.
func le(n uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(n >> (8 * i))
	}
	return b
}

// TestRandomUUIDAtTopLevel: code that calls crypto.randomUUID at the top
// level, as it may on the platform, passes.
func TestRandomUUIDAtTopLevel(t *testing.T) {
	t.Parallel()
	code := variantOf(t, `import { createMachine } from "xstate";
const instanceSalt = globalThis.crypto.randomUUID();
export default createMachine({ id: "t", predictableActionArguments: true, initial: "idle", states: { idle: {} } });
export const allowRead = () => instanceSalt.length > 0;
export const allowWrite = () => false;
`)
	if err := Check(context.Background(), code, bundle.MachineVersion, relaxed()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// TestSandboxLacks: a throw that comes of a web API that the sandbox lacks
// says so, and is a Limitation; a throw of the code's own is not, even
// where it reads like one.
func TestSandboxLacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		lacks      string // "" for the code's own throw
	}{
		{"a missing global", `new URLSearchParams("a=1");`, "URLSearchParams"},
		{"a missing global through globalThis", `globalThis.fetch("https://example.com");`, "fetch"},
		{"a member of one", `const t = globalThis.performance.now();`, "performance"},
		{"destructured", `const { now } = globalThis.performance;`, "performance"},
		{"constructed", `new globalThis.Headers();`, "Headers"},
		{"crypto.subtle", `crypto.subtle.digest("SHA-256", new Uint8Array(1));`, "crypto.subtle"},
		{"crypto.subtle through globalThis", `globalThis.crypto.subtle.digest("SHA-256", new Uint8Array(1));`, "crypto.subtle"},
		{"an encoding", `new TextDecoder("utf-16le");`, `TextDecoder for "utf-16le"`},
		{"transfer", `structuredClone(new ArrayBuffer(1), {transfer: [new ArrayBuffer(1)]});`, "structuredClone with transfer"},
		{"ECMAScript's Intl", `new Intl.NumberFormat("en");`, "Intl"},
		{"a typo", `const region = regoin;`, ""},
		{"a Node API", `process.env.REGION;`, ""},
		{"the code's own undefined", `const config = {}; config.performance.now();`, ""},
		{"a global of the code's own", `globalThis.settings.region;`, ""},
		{"a type error", `null.x;`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check(context.Background(), script(tt.body), bundle.Migration, relaxed())
			var e *Error
			if !errors.As(err, &e) || e.Reason != Threw {
				t.Fatalf("Check: %v, want a throw", err)
			}
			if e.Lacks != tt.lacks || e.Limitation() != (tt.lacks != "") {
				t.Errorf("Lacks %q, Limitation %t; want %q, %t (%v)", e.Lacks, e.Limitation(), tt.lacks, tt.lacks != "", err)
			}
			if says := strings.Contains(err.Error(), "the validation sandbox lacks "+tt.lacks); says != (tt.lacks != "") {
				t.Errorf("the message says the sandbox lacks it: %t, want %t: %v", says, tt.lacks != "", err)
			}
		})
	}
}

// TestLimitation: the failures that the platform may not share are the
// sandbox's limits and lacks; the code's faults are not.
func TestLimitation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  Error
		want bool
	}{
		{Error{Reason: Timeout}, true},
		{Error{Reason: TooMuchMemory}, true},
		{Error{Reason: Syntax}, true},
		{Error{Reason: Threw, Lacks: "URL"}, true},
		{Error{Reason: Threw}, false},
		{Error{Reason: NotFunction}, false},
		{Error{Reason: NotMachine}, false},
		{Error{Reason: BadDefinition}, false},
		{Error{Reason: BadInitial}, false},
	} {
		if got := tt.err.Limitation(); got != tt.want {
			t.Errorf("%v (Lacks %q): Limitation() = %t, want %t", tt.err.Reason, tt.err.Lacks, got, tt.want)
		}
	}
}
