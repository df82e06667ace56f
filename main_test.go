//go:build !noemulator

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sbdeploy/action"
	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
	"sbdeploy/internal/worker"
)

const (
	testToken     = "sbtest_secret_token_0123456789"
	testKeyID     = "sbk_test"
	testSecretKey = "sbsec_test_secret_key_9876543210"
)

// binary is the program these tests run as a process, built once by
// TestMain with the version the release build would stamp.
var binary string

const testVersion = "v9.8.7-test"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sbdeploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sbdeploy")
	// As the image's build does: without symbols and debug information.
	// go run keeps the programs it builds in
	// the build cache, so an unchanged program is not linked again; -exec
	// cp copies it here instead of running it.
	build := exec.Command("go", "run", "-ldflags", "-s -w -X main.version="+testVersion, "-exec", "cp", ".", binary)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go run: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// program is one run of the binary against an emulator, with the example
// project in its workspace and the inputs of a migration deploy.
type program struct {
	em        *testkit.Emu
	url       string
	workspace string
	output    string // GITHUB_OUTPUT
	env       map[string]string
}

func newProgram(t *testing.T) *program {
	t.Helper()
	em := testkit.New(emulator.Config{Token: testToken, Machines: map[string][]string{demoMachine: {demoFrom, demoTo}}})
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	workspace := t.TempDir()
	if err := os.CopyFS(filepath.Join(workspace, "app"), os.DirFS("testdata/example")); err != nil {
		t.Fatal(err)
	}
	// As `npm ci` would: xstate installed, for validation.
	if err := os.CopyFS(filepath.Join(workspace, "app", "node_modules"), os.DirFS("testdata/validate/node_modules")); err != nil {
		t.Fatal(err)
	}
	p := &program{em: em, url: srv.URL, workspace: workspace, output: filepath.Join(t.TempDir(), "output")}
	p.env = map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": workspace, "GITHUB_OUTPUT": p.output,
		"INPUT_MACHINE": demoMachine, "INPUT_FROM-VERSION": demoFrom, "INPUT_TO-VERSION": demoTo,
		"INPUT_WORKING-DIRECTORY": "app", "INPUT_FILE": demoFile, "INPUT_API-URL": srv.URL, "INPUT_TOKEN": testToken,
	}
	return p
}

// command is the binary with args, in the workspace, with p's environment
// only.
func (p *program) command(args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Dir = p.workspace
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// run runs the binary to its end and returns its exit code and output.
func (p *program) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := p.command(args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// outputs reads a GITHUB_OUTPUT file.
func outputs(t *testing.T, path string) map[string]string {
	t.Helper()
	return testkit.Outputs(t, path)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	return testkit.ReadFile(t, path)
}

// TestExitCodes runs the real binary and pins each exit code, where its
// message goes, and what it says: a CI step goes by them.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	_, busyPort, _ := net.SplitHostPort(busy.Addr().String())
	tests := []struct {
		name   string
		setup  func(*program)
		args   []string
		code   int
		stdout string // a substring
		stderr string // a substring; "" means stderr is empty
	}{
		{name: "deployed", code: 0, stdout: "sbdeploy " + testVersion},
		{name: "help", args: []string{"--help"}, code: 0, stdout: "Exit codes:"},
		{name: "--version", args: []string{"--version"}, code: 0, stdout: "sbdeploy " + testVersion + "\n"},
		{name: "version", args: []string{"version"}, code: 0, stdout: "sbdeploy " + testVersion + "\n"},
		{name: "version with an argument", args: []string{"version", "x"}, code: 2, stderr: "sbdeploy version: takes no arguments"},
		{name: "bad input", setup: func(p *program) { p.env["INPUT_GZIP"] = "maybe" }, code: 2, stdout: `::error::input gzip: "maybe" is not true or false`},
		{name: "help subcommand", args: []string{"help"}, code: 0, stdout: "Exit codes:"},
		{name: "help subcommand with an argument", args: []string{"help", "x"}, code: 2, stderr: "sbdeploy help: takes no arguments"},
		{name: "unknown flag", args: []string{"--gzipp"}, code: 2, stdout: "--gzipp is not a flag of sbdeploy: did you mean --gzip?"},
		{name: "misspelt input", setup: func(p *program) { p.env["INPUT_DRY_RUN"] = "true" }, code: 2, stdout: "::error::input dry_run: not an input of sbdeploy, so this run would ignore it: did you mean dry-run?"},
		{name: "stray argument", args: []string{"deploy"}, code: 2, stdout: `unexpected argument "deploy"`},
		{name: "bad flag outside GitHub", setup: plainCLI, args: []string{"--retries", "0"}, code: 2, stderr: `--retries: "0" is not a number of attempts`},
		{name: "API refuses", setup: func(p *program) { p.env["INPUT_TOKEN"] = "sbtest_wrong_token" }, code: 1, stdout: "401 Unauthorized"},
		{name: "teardown not confirmed", setup: func(p *program) {
			p.env = map[string]string{"GITHUB_ACTIONS": "true", "INPUT_MODE": "teardown", "INPUT_MACHINE": demoMachine, "INPUT_TOKEN": testToken, "INPUT_API-URL": p.url}
		}, code: 2, stdout: "input confirm-delete: required"},
		{name: "partial release", setup: func(p *program) {
			p.env["INPUT_MODE"] = "release"
			p.env["INPUT_FILE"] = "machines/toggle.ts"
			p.env["INPUT_MIGRATION-FILE"] = demoFile
			delete(p.env, "INPUT_TO-VERSION")
			p.em.FailNext(emulator.StepProvision, 1, 403, `{"error":"no","code":"missing-scope"}`)
		}, code: 3, stdout: "was deployed, but the migration to it was not"},
		{name: "demo with an argument", args: []string{"demo", "x"}, code: 2, stderr: `sbdeploy demo: takes no arguments, got "x"`},
		{name: "emulator on a busy port", args: []string{"emulator", "--port", busyPort}, code: 1, stderr: "is in use, by another emulator or another program"},
		{name: "emulator with a bad key", args: []string{"emulator", "--key", "nope"}, code: 2, stderr: "want sbk_<id>:sbsec_<secret>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProgram(t)
			if tt.setup != nil {
				tt.setup(p)
			}
			code, stdout, stderr := p.run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
			}
			if tt.stderr == "" && stderr != "" || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr = %q, want %q", stderr, tt.stderr)
			}
		})
	}
}

// plainCLI makes a run outside GitHub Actions: inputs as flags, errors on
// stderr.
func plainCLI(p *program) {
	p.env = map[string]string{"STATEBACKED_TOKEN": testToken}
}

// TestSIGTERMCancels checks that SIGTERM during a hanging request ends the
// run promptly, with exit code 1, saying it was cancelled, with no output.
func TestSIGTERMCancels(t *testing.T) {
	t.Parallel()
	p := newProgram(t)
	p.em.Inject(emulator.StepProvision, 10, testkit.Fault{Hang: true})
	cmd := p.command()
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second) // bounded wait for the request to arrive
	for len(p.em.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("wait: %v, want exit code 1", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to stop after SIGTERM", d)
	}
	if !strings.Contains(stdout.String(), "cancelled") {
		t.Errorf("the log does not say the run was cancelled:\n%s", stdout.String())
	}
	if out := outputs(t, p.output); len(out) != 0 {
		t.Errorf("outputs written: %v", out)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	p := action.Process{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errOut, Version: testVersion,
		Worker: func() (*worker.Worker, error) { return worker.Start(binary) }}
	if err := demo(context.Background(), p); err != nil {
		t.Fatalf("demo: %v\n%s%s", err, out.String(), errOut.String())
	}
	line := func(step, method string) string { return fmt.Sprintf("  %-14s %-4s ", step, method) }
	for _, want := range []string{"\nmigration-id=mvm_", "migration check: off -> disabled", "migration replayed on 3 instance(s) on ver_toggle_1: 3 passed, 0 failed",
		line("read-instance", "GET") + "/machines/toggle/i/alice/admin -> 200",
		line("provision", "POST") + "/machines/toggle/migrations?gzip=true -> 200", line("upload", "POST"), "-> 204", line("finalize", "PUT")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestServeEmulator starts the standalone emulator with a CI key, deploys
// to it with the binary using that key, and stops it by cancelling.
func TestServeEmulator(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- serveEmulator(ctx, action.Process{Args: []string{"--listen", "127.0.0.1:0", "--key", testKeyID + ":" + testSecretKey},
			Getenv: func(k string) string { return map[string]string{"STATEBACKED_TOKEN": testToken}[k] }, Stdout: &out, Stderr: &out})
	}()
	var url string
	for deadline := time.Now().Add(5 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, rest, ok := strings.Cut(out.String(), "listening on "); ok {
			url, _, _ = strings.Cut(rest, " ")
		}
	}
	p := newProgram(t)
	p.env["INPUT_API-URL"] = url
	delete(p.env, "INPUT_TOKEN")
	p.env["INPUT_KEY-ID"] = testKeyID
	p.env["INPUT_SECRET-KEY"] = testSecretKey
	if code, stdout, _ := p.run(t); code != 0 {
		t.Fatalf("deploy to %q with the key: exit code %d\n%s", url, code, stdout)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "stopped after 3 requests") {
		t.Errorf("output:\n%s", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEmulatorStopsWithItsParent starts the emulator from a shell that then
// exits, as `go run . emulator` does when it gets SIGTERM: the emulator must
// stop too, not stay behind holding its port.
func TestEmulatorStopsWithItsParent(t *testing.T) {
	t.Parallel()
	// The shell exits once the emulator says it listens: it has started
	// under the shell, and watches it. The wait is bounded (5 s).
	sh := exec.Command("sh", "-c", `"$0" emulator --listen 127.0.0.1:0 >"$1" 2>&1 & echo $!
for i in $(seq 500); do grep -q listening "$1" && exit 0; sleep 0.01; done; exit 1`, binary, filepath.Join(t.TempDir(), "out"))
	out, shErr := sh.Output()
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("shell printed %q (%v)", out, shErr)
	}
	if shErr != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the emulator (pid %d) did not say it listens within 5 s: %v", pid, shErr)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !running(pid) {
			return
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("the emulator (pid %d) outlived its parent by 5 s", pid)
}

// running reports whether process pid runs: it exists and is not a zombie
// waiting for whoever adopted it to reap it.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil // no /proc: ask the kernel
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z") && !strings.HasPrefix(after, "X")
}
