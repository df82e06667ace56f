package action

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestUnresolvedImportAdvice checks that an import esbuild cannot resolve
// gets the advice that fixes it: a Node built-in is not something to
// install, a package is, and a path is a typo.
func TestUnresolvedImportAdvice(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, imp string
		want      []string
		without   string
	}{
		{"node:crypto", `import { randomUUID } from "node:crypto"; randomUUID();`, []string{`"node:crypto" is a Node.js built-in module`,
			"web-standards runtime without Node's built-ins", "use globalThis.crypto instead: crypto.randomUUID()"}, "npm ci"},
		{"crypto", `import { randomUUID } from "crypto"; randomUUID();`, []string{`"crypto" is a Node.js built-in module`, "use globalThis.crypto"}, "npm ci"},
		{"buffer", `import { Buffer } from "buffer"; Buffer.from("");`, []string{`"buffer" is a Node.js built-in module`, "Uint8Array with TextEncoder"}, "npm ci"},
		{"fs", `import { readFileSync } from "fs"; readFileSync("");`, []string{`"fs" is a Node.js built-in module`, "no file system"}, "npm ci"},
		{"package", `import { z } from "zod"; z.any();`, []string{"install the app's packages before this step (`npm ci`"}, "built-in"},
		{"path", `import { x } from "./nope"; x();`, []string{"no file \"./nope\": check the import's path"}, "npm ci"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.write(t, "app/m.ts", tt.imp+"\nexport const upgradeState = (s: unknown) => s, upgradeContext = (c: unknown) => c;\n")
			h.env["INPUT_FILE"] = "m.ts"
			_, _, err := h.run(t)
			if ExitCode(err) != 1 {
				t.Fatalf("exit code %d, want 1: %v", ExitCode(err), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), tt.without) {
				t.Errorf("error says %q:\n%v", tt.without, err)
			}
		})
	}
}

// TestBundleProgress checks that a build that takes a while says how far it
// got: here the clock moves three seconds each time it is read.
func TestBundleProgress(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newHarness(t)
	h.opts = append(h.opts[:len(h.opts):len(h.opts)], withClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(3 * time.Second)
		return now
	}))
	stdout, _, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if want := "bundling app/migrations/toggle-v1-to-v2.ts: 2 modules loaded\n"; !strings.Contains(stdout, want) {
		t.Errorf("log lacks %q:\n%s", want, stdout)
	}
}
