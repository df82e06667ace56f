package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sbdeploy/bundle"
	"sbdeploy/validate"
)

// TestMain makes the test binary the worker when it is started as one.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == Arg {
		os.Exit(Serve(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// start starts this test binary as a worker, confined to a new workspace
// that holds files (name -> content), and returns both.
func start(t *testing.T, files map[string]string) (*Worker, string) {
	return startWith(t, files, Limits{})
}

// startWith is start with limits.
func startWith(t *testing.T, files map[string]string, limits Limits) (*Worker, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	outer := t.TempDir()
	ws := filepath.Join(outer, "ws")
	for name, content := range files {
		path := filepath.Join(ws, name)
		if strings.HasPrefix(name, "../") {
			path = filepath.Join(outer, strings.TrimPrefix(name, "../"))
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := startCmd(exec.Command(exe, Arg), limits)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	how, err := w.Confine(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" && !strings.HasPrefix(how, "Landlock ABI ") {
		t.Logf("the worker is not confined here: %s", how)
	}
	return w, ws
}

const migration = "export const upgradeState = (s: string[]) => s, upgradeContext = (o: unknown, n: unknown, c: object) => c;\n"

// TestWorkerHoldsNothing checks that the worker's environment is empty: a
// module that read the process's environment would find no secret there.
func TestWorkerHoldsNothing(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	w, _ := start(t, nil)
	env, err := os.ReadFile("/proc/" + strconv.Itoa(w.cmd.Process.Pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != 0 {
		t.Errorf("the worker's environment holds %d bytes, want none: %q", len(env), env)
	}
}

// TestBuildInWorker checks that a build in the worker gives the bundle,
// its progress, and esbuild's errors with their place.
func TestBuildInWorker(t *testing.T) {
	t.Parallel()
	w, ws := start(t, map[string]string{"m.ts": migration, "bad.ts": "export const = ;\n"})
	var last int
	b, err := w.Build(context.Background(), bundle.Options{Dir: ws, Entry: "m.ts", Kind: bundle.Migration, Progress: func(n int) { last = n }})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b.Code), "upgradeState") || last != 1 {
		t.Errorf("bundle %q, progress %d: want the code and 1 module", b.Code, last)
	}
	// The code and its gzipped form travel raw after the reply's frame.
	want, err := bundle.Build(context.Background(), bundle.Options{Dir: ws, Root: ws, Entry: "m.ts", Kind: bundle.Migration})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Code, want.Code) || !bytes.Equal(b.Gzipped, want.Gzipped) || !slices.Equal(b.Exports, want.Exports) {
		t.Errorf("the worker's bundle differs from the same build in process:\n%q %d %v\n%q %d %v",
			b.Code, len(b.Gzipped), b.Exports, want.Code, len(want.Gzipped), want.Exports)
	}
	_, err = w.Build(context.Background(), bundle.Options{Dir: ws, Entry: "bad.ts", Kind: bundle.Migration})
	var be *bundle.BuildError
	if !errors.As(err, &be) || len(be.Messages) == 0 || be.Messages[0].File != "bad.ts" || be.Messages[0].Line != 1 {
		t.Errorf("err = %#v, want a *bundle.BuildError at bad.ts:1", err)
	}
}

// TestConfinedToWorkspace checks that the worker reads no file above its
// workspace, even one that esbuild's resolver reads by itself: a
// tsconfig.json above it that would put its text into the bundle.
func TestConfinedToWorkspace(t *testing.T) {
	t.Parallel()
	w, ws := start(t, map[string]string{
		"../tsconfig.json": `{"compilerOptions": {"jsx": "react", "jsxFactory": "LEAKED_FROM_OUTSIDE"}}`,
		"m.tsx":            "export const upgradeState = (s: string[]) => [<div/>, s], upgradeContext = (o: unknown, n: unknown, c: object) => c;\n",
	})
	b, err := w.Build(context.Background(), bundle.Options{Dir: ws, Entry: "m.tsx", Kind: bundle.Migration})
	if err == nil && strings.Contains(string(b.Code), "LEAKED_FROM_OUTSIDE") {
		t.Errorf("the bundle holds text from a file outside the workspace:\n%s", b.Code)
	}
	if err != nil && strings.Contains(err.Error(), "LEAKED_FROM_OUTSIDE") {
		t.Errorf("the error quotes a file outside the workspace: %v", err)
	}
}

// TestGitIsOutOfReach checks that the worker cannot read the workspace's
// .git, where a checkout keeps its token, even where esbuild reads a file
// there by itself: a tsconfig.json that extends one.
func TestGitIsOutOfReach(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("Landlock is Linux's")
	}
	w, ws := start(t, map[string]string{
		".git/config":   `{"compilerOptions": {"jsx": "react", "jsxFactory": "LEAKED_FROM_GIT"}}`,
		"tsconfig.json": `{"extends": "./.git/config"}`,
		"m.tsx":         "export const upgradeState = (s: string[]) => [<div/>, s], upgradeContext = (o: unknown, n: unknown, c: object) => c;\n",
	})
	b, err := w.Build(context.Background(), bundle.Options{Dir: ws, Entry: "m.tsx", Kind: bundle.Migration})
	if err == nil && strings.Contains(string(b.Code), "LEAKED_FROM_GIT") {
		t.Errorf("the bundle holds text from .git:\n%s", b.Code)
	}
	if err != nil && strings.Contains(err.Error(), "LEAKED_FROM_GIT") {
		t.Errorf("the error quotes a file in .git: %v", err)
	}
}

// TestStartupWorkFits checks that ordinary work at the top level, a table
// of 100,000 rows, passes validation in the worker within its limits
// (scaled for a worker built with the race detector).
func TestStartupWorkFits(t *testing.T) {
	t.Parallel()
	limits := Limits{Build: BuildMemory * raceScale, Evaluate: EvaluateMemory * raceScale}
	w, ws := startWith(t, map[string]string{"m.ts": "export const rows = Array.from({length: 100000}, (_, i) => ({id: i, name: 'row' + i, tags: ['a', 'b']}));\n" + migration}, limits)
	vo := validate.Options{Timeout: validate.DefaultTimeout * raceScale}
	if err := w.Validate(context.Background(), bundle.Options{Dir: ws, Entry: "m.ts"}, bundle.Migration, vo); err != nil {
		t.Fatalf("a table of 100,000 rows failed: %v", err)
	}
}

// TestBombsAreStopped checks that code that nests too deeply, allocates
// without bound or never ends stops the worker with a *CrashError that
// says why, or, at the run's deadline, with the context's error; and that
// the worker answers no more after.
func TestBombsAreStopped(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		script  string
		opts    validate.Options
		timeout time.Duration
		want    string
	}{
		{"nesting", `Function("!".repeat(4e6) + "1")`, validate.Options{}, time.Minute, "nests too deeply"},
		{"one large allocation", `new Array(2**32-1).fill(1)`, validate.Options{MaxHeapBytes: 1 << 40, Timeout: time.Minute}, time.Minute,
			"used more than 224 MB of memory"},
		{"growing", `const a = []; for (;;) a.push("x".repeat(1000) + a.length)`, validate.Options{MaxHeapBytes: 1 << 40, Timeout: time.Minute}, time.Minute,
			"used more than 224 MB of memory"},
		{"endless", `for (;;) {}`, validate.Options{Timeout: time.Hour}, 300 * time.Millisecond, "context deadline exceeded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var limits Limits
			if tt.name == "nesting" { // the race detector's memory must not stop it first
				limits = Limits{Evaluate: EvaluateMemory * raceScale}
			}
			w, ws := startWith(t, map[string]string{"m.ts": tt.script + ";\n" + migration}, limits)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			began := time.Now()
			err := w.Validate(ctx, bundle.Options{Dir: ws, Entry: "m.ts"}, bundle.Migration, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			var crash *CrashError
			if tt.name != "endless" && (!errors.As(err, &crash) || crash.Entry != "m.ts") {
				t.Errorf("err = %#v, want a *CrashError for m.ts", err)
			}
			if took := time.Since(began); took > 10*time.Second*raceScale {
				t.Errorf("stopped after %s, want within %d s", took, 10*raceScale)
			}
			if _, err := w.Build(context.Background(), bundle.Options{Dir: "/", Entry: "m.ts"}); err == nil {
				t.Error("a stopped worker answered again")
			}
		})
	}
}

// TestOutOfTurn checks that a worker whose answer breaks the protocol (a
// frame over the size limit) is stopped at once and reported, instead of
// being waited for until the run's deadline.
func TestOutOfTurn(t *testing.T) {
	t.Parallel()
	for name, answer := range map[string]string{
		"frame too large": `\377\377\377\377`,
		// A reply whose bundle says it is followed by 1 GiB of code.
		"bundle too large": `\0\0\0\060{"Done":true,"Bundle":{},"CodeBytes":1073741824}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w, err := startCmd(exec.Command("/bin/sh", "-c", `cat >/dev/null & printf '`+answer+`'; sleep 60`), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(w.Close)
			began := time.Now()
			_, err = w.Build(context.Background(), bundle.Options{Dir: "/", Entry: "m.ts"})
			var crash *CrashError
			if !errors.As(err, &crash) || !strings.Contains(crash.Reason, "answered out of turn") {
				t.Fatalf("err = %v, want a *CrashError: it answered out of turn", err)
			}
			if took := time.Since(began); took > 10*time.Second {
				t.Errorf("stopped after %s", took)
			}
		})
	}
}

// TestRequestTooLarge checks that a request over the frame limit ends the
// worker at once, instead of waiting for an answer to a request it never
// got.
func TestRequestTooLarge(t *testing.T) {
	t.Parallel()
	w, _ := start(t, map[string]string{"m.ts": migration})
	context := json.RawMessage(`{"x":"` + strings.Repeat("a", 1<<20) + `"}`)
	var instances []validate.Instance
	for range maxFrame>>20 + 1 {
		instances = append(instances, validate.Instance{Name: "i", State: json.RawMessage(`"off"`), Context: context})
	}
	began := time.Now()
	_, err := w.Replay(t.Context(), instances)
	var crash *CrashError
	if !errors.As(err, &crash) || !strings.Contains(crash.Reason, "could not be sent") {
		t.Fatalf("err = %v, want a *CrashError: the request could not be sent", err)
	}
	// Without the kill it waits for ever; encoding the request takes
	// seconds under the race detector.
	if took := time.Since(began); took > time.Minute {
		t.Errorf("stopped after %s", took)
	}
}
