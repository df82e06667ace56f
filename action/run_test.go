package action

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/bundle"
	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
	"sbdeploy/validate"
)

const (
	testToken     = "sbtest_secret_token_0123456789"
	testSecretKey = "sbsec_test_secret_key_9876543210"
)

// The example project's machine and versions (testdata/example at the
// repository's root), as the emulator is told of them.
const (
	demoMachine = "toggle"
	demoFrom    = "ver_toggle_1"
	demoTo      = "ver_toggle_2"
	demoFile    = "migrations/toggle-v1-to-v2.ts"
)

// exampleDir is the example project, copied into each test's workspace;
// installXstate adds the vendored xstate of xstateModules as its
// node_modules, for the tests that validate.
const (
	exampleDir    = "../testdata/example"
	xstateModules = "../testdata/validate/node_modules"
)

// testOptions make the waits between attempts instant (the waits asked
// for are still logged) and bound an attempt to 2 s: the retry policy under
// test is the same.
var testOptions = []option{withSleep(noSleep), withRequestTimeout(2 * time.Second)}

// The options tests run with, each replacing one field of tuning.
func withRequestTimeout(d time.Duration) option { return func(t *tuning) { t.requestTimeout = d } }
func withBundleLimits(l bundle.Limits) option   { return func(t *tuning) { t.limits = l } }
func withValidation(o validate.Options) option  { return func(t *tuning) { t.validate = o } }
func withClock(now func() time.Time) option     { return func(t *tuning) { t.now = now } }
func withSleep(sleep func(context.Context, time.Duration) error) option {
	return func(t *tuning) { t.sleep = sleep }
}

// noSleep returns at once, unless ctx has ended.
func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// versionMode sets the inputs of a machine version deploy of the example.
func versionMode(h *harness) {
	h.env["INPUT_MODE"] = "version"
	h.env["INPUT_FILE"] = "machines/toggle.ts"
	h.env["INPUT_FROM-VERSION"] = ""
	h.env["INPUT_TO-VERSION"] = ""
}

// teardownMode sets the inputs of a confirmed teardown of the example's
// machine, clearing those only code modes take.
func teardownMode(h *harness) {
	for _, name := range []string{"INPUT_FROM-VERSION", "INPUT_TO-VERSION", "INPUT_FILE", "INPUT_WORKING-DIRECTORY", "INPUT_GZIP", "INPUT_VALIDATE"} {
		delete(h.env, name)
	}
	h.env["INPUT_MODE"] = "teardown"
	h.env["INPUT_CONFIRM-DELETE"] = demoMachine
}

// releaseMode sets the inputs of a release of the example: a version and the
// migration to it from demoFrom.
func releaseMode(h *harness) {
	versionMode(h)
	h.env["INPUT_MODE"] = "release"
	h.env["INPUT_FROM-VERSION"] = demoFrom
	h.env["INPUT_MIGRATION-FILE"] = demoFile
}

// env is a fake process environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// list is the environment as os.Environ gives it.
func (e env) list() []string {
	var kv []string
	for k, v := range e {
		kv = append(kv, k+"="+v)
	}
	return kv
}

// harness is one run of the action against an emulator, as the GitHub runner
// would do it: inputs in INPUT_ variables, a workspace, and the file commands.
type harness struct {
	em        *testkit.Emu
	apiURL    string
	workspace string
	dir       string // the working directory: the workspace unless a test sets it
	env       env
	output    string // GITHUB_OUTPUT
	summary   string // GITHUB_STEP_SUMMARY
	opts      []option
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, emulator.Config{})
}

// newHarnessWith is newHarness with an emulator that also knows cfg's
// instances and page size.
func newHarnessWith(t *testing.T, cfg emulator.Config) *harness {
	t.Helper()
	return newHarnessBehind(t, cfg, nil)
}

// newHarnessBehind is newHarnessWith with the emulator behind wrap: a
// server that misbehaves in ways the emulator's faults cannot.
func newHarnessBehind(t *testing.T, cfg emulator.Config, wrap func(http.Handler) http.Handler) *harness {
	t.Helper()
	cfg.Token = testToken
	if cfg.Machines == nil {
		cfg.Machines = map[string][]string{demoMachine: {demoFrom, demoTo}}
	}
	em := testkit.New(cfg)
	var handler http.Handler = em
	if wrap != nil {
		handler = wrap(em)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	workspace := t.TempDir()
	if err := os.CopyFS(filepath.Join(workspace, "app"), os.DirFS(exampleDir)); err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	h := &harness{em: em, apiURL: srv.URL, workspace: workspace, dir: workspace, opts: testOptions,
		output: filepath.Join(files, "output"), summary: filepath.Join(files, "summary")}
	h.env = env{
		"GITHUB_ACTIONS":          "true",
		"GITHUB_WORKSPACE":        workspace,
		"GITHUB_OUTPUT":           h.output,
		"GITHUB_STEP_SUMMARY":     h.summary,
		"INPUT_MACHINE":           demoMachine,
		"INPUT_FROM-VERSION":      demoFrom,
		"INPUT_TO-VERSION":        demoTo,
		"INPUT_WORKING-DIRECTORY": "app",
		"INPUT_FILE":              demoFile,
		"INPUT_API-URL":           srv.URL,
		"INPUT_TOKEN":             testToken,
		// What action.yml passes for inputs a workflow leaves out.
		"INPUT_MODE": "migration", "INPUT_GZIP": "true", "INPUT_DRY-RUN": "false", "INPUT_TIMEOUT": "5m", "INPUT_RETRIES": "4",
		// action.yml passes "true"; validation_test.go tests it, and the
		// other tests, which test what follows, skip its cost.
		"INPUT_VALIDATE": "false",
	}
	return h
}

// installXstate installs xstate in the example, as `npm ci` would, for
// validation.
func (h *harness) installXstate(t *testing.T) {
	t.Helper()
	if err := os.CopyFS(filepath.Join(h.workspace, "app", "node_modules"), os.DirFS(xstateModules)); err != nil {
		t.Fatal(err)
	}
}

// write creates a file in the workspace.
func (h *harness) write(t *testing.T, name, content string) {
	t.Helper()
	path := filepath.Join(h.workspace, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = Run(context.Background(), Process{Args: args, Getenv: h.env.get, Environ: h.env.list, Dir: h.dir, Stdout: &out, Stderr: &errOut, Version: "v0.0.0-test", Worker: testWorker}, h.opts...)
	return out.String(), errOut.String(), err
}

// outputs reads the step's outputs from its GITHUB_OUTPUT file.
func (h *harness) outputs(t *testing.T) map[string]string {
	t.Helper()
	return testkit.Outputs(t, h.output)
}

func TestRunDeploysAsGitHubRunner(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	stdout, stderr, err := h.run(t)
	if err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}

	migs := h.em.Migrations()
	if len(migs) != 1 || !migs[0].Finalized || !migs[0].Gzip {
		t.Fatalf("emulator migrations = %+v, want one finalized gzipped migration", migs)
	}
	code := testkit.Gunzip(t, migs[0].Code)
	sum := sha256.Sum256(code)
	want := map[string]string{
		"migration-id":  migs[0].ID,
		"bundle-bytes":  strconv.Itoa(len(code)),
		"upload-bytes":  strconv.Itoa(len(migs[0].Code)),
		"bundle-sha256": hex.EncodeToString(sum[:]),
	}
	if diff := cmp.Diff(want, h.outputs(t)); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if !bytes.Contains(code, []byte(`"enabled"`)) || !bytes.Contains(code, []byte("export{")) {
		t.Errorf("uploaded code is not the bundled example:\n%s", code)
	}
	if n := len(h.em.Requests()); n != 3 {
		t.Errorf("%d requests, want exactly 3", n)
	}

	// The token is masked before anything else is printed, and appears
	// nowhere else.
	first, rest, _ := strings.Cut(stdout, "\n")
	if first != "::add-mask::"+testToken {
		t.Errorf("first line = %q, want the add-mask command", first)
	}
	for _, s := range []string{rest, stderr, readFile(t, h.summary), readFile(t, h.output)} {
		if strings.Contains(s, testToken) {
			t.Errorf("token leaked into:\n%s", s)
		}
	}
	if !strings.HasPrefix(rest, "sbdeploy v0.0.0-test\n") {
		t.Errorf("the log does not say first which version runs:\n%s", rest)
	}
	for _, group := range []string{"bundle", "provision", "upload", "finalize"} {
		if !strings.Contains(stdout, "::group::"+group+"\n") {
			t.Errorf("no ::group::%s in the log:\n%s", group, stdout)
		}
	}
	summary := readFile(t, h.summary)
	for _, row := range []string{"| Machine | `toggle` |", "| Migration ID | `" + migs[0].ID + "` |", "| Times (migration) | bundle ", "| Bundle (migration) | `app/migrations/toggle-v1-to-v2.ts`: "} {
		if !strings.Contains(summary, row) {
			t.Errorf("summary lacks %q:\n%s", row, summary)
		}
	}
}

func TestRunPlainCLI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env = env{"GITHUB_WORKSPACE": h.workspace, "STATEBACKED_TOKEN": testToken}
	stdout, stderr, err := h.run(t,
		"--machine", demoMachine, "--from-version", demoFrom, "--to-version", demoTo,
		"--working-directory", "app", "--file", demoFile, "--api-url", h.apiURL, "--gzip=false")
	if err != nil {
		t.Fatalf("run: %v\n%s%s", err, stdout, stderr)
	}
	if strings.Contains(stdout, "::") || strings.Contains(stdout+stderr, testToken) {
		t.Errorf("a plain run printed workflow commands or the token:\n%s", stdout)
	}
	migs := h.em.Migrations()
	if len(migs) != 1 || migs[0].Gzip {
		t.Fatalf("migrations = %+v, want one, not gzipped", migs)
	}
	if !strings.Contains(stdout, "\nmigration-id="+migs[0].ID+"\n") {
		t.Errorf("outputs not printed as name=value:\n%s", stdout)
	}
}

func TestRunFlagWinsOverInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env["INPUT_MACHINE"] = "Not A Valid Name"
	h.env["INPUT_GZIP"] = "false"
	if _, stderr, err := h.run(t, "--machine", demoMachine); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if migs := h.em.Migrations(); len(migs) != 1 || migs[0].Machine != demoMachine || migs[0].Gzip {
		t.Errorf("migrations = %+v: want the flag's machine and the input's gzip=false", migs)
	}
}

func TestRunDryRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env["INPUT_DRY-RUN"] = "true"
	h.env["INPUT_TOKEN"] = "" // a dry run needs no token
	stdout, _, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.em.Requests()); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
	out := h.outputs(t)
	if _, ok := out["migration-id"]; ok || out["bundle-sha256"] == "" || out["upload-bytes"] == "" {
		t.Errorf("dry-run outputs = %v: want sizes and hash, no migration-id", out)
	}
	if !strings.Contains(stdout, "::notice::dry run") {
		t.Errorf("no dry-run notice:\n%s", stdout)
	}
}

// TestRunAnnotatesBuildErrors checks that an esbuild error becomes an
// annotation at its file (relative to the workspace), line and column.
func TestRunAnnotatesBuildErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write(t, "app/migrations/broken.ts", "export function upgradeState(s: string) {\n  return s +;\n}\n")
	h.env["INPUT_FILE"] = "migrations/broken.ts"
	stdout, _, err := h.run(t)
	if err == nil {
		t.Fatal("run succeeded on a syntax error")
	}
	want := "::error col=13,file=app/migrations/broken.ts,line=2::Unexpected \";\"\n"
	if !strings.Contains(stdout, want) {
		t.Errorf("log lacks the annotation %q:\n%s", want, stdout)
	}
	// Once, with one path base: the run's error counts the errors and
	// points at the annotations.
	if n := strings.Count(stdout, "Unexpected"); n != 1 {
		t.Errorf("the syntax error is reported %d times, want once:\n%s", n, stdout)
	}
	if !strings.Contains(stdout, "::error::bundle of the migration app/migrations/broken.ts failed with 1 error(s) (annotated at their place above)") {
		t.Errorf("the run's error does not point at the annotation:\n%s", stdout)
	}
}

var badInputs = []struct {
	name  string
	setup func(t *testing.T, h *harness)
	want  []string
}{
	{"misspelt dry-run", set("INPUT_DRY_RUN", "true"), []string{"input dry_run: not an input of sbdeploy", "did you mean dry-run?"}},
	{"misspelt upgrade-instances", set("INPUT_UPGRADE-INSTANCE", "true"), []string{"input upgrade-instance: not an input", "did you mean upgrade-instances?"}},
	{"unknown input", set("INPUT_COLOUR", "blue"), []string{"input colour: not an input of sbdeploy", "remove it"}},
	{"missing machine", set("INPUT_MACHINE", ""), []string{"input machine: required"}},
	{"invalid machine", set("INPUT_MACHINE", "my machine!"), []string{`input machine: "my machine!" is not a machine name`}},
	{"machine name too long", set("INPUT_MACHINE", strings.Repeat("m", 129)), []string{"is not a machine name"}},
	{"missing from-version", set("INPUT_FROM-VERSION", ""), []string{"input from-version: required"}},
	{"missing to-version", set("INPUT_TO-VERSION", ""), []string{"input to-version: required"}},
	{"migration to itself", set("INPUT_TO-VERSION", demoFrom), []string{`input to-version: "ver_toggle_1" is from-version too`}},
	{"version with a newline", set("INPUT_TO-VERSION", "ver_1\nx"), []string{"input to-version:", "is not a machine version ID"}},
	{"missing file", set("INPUT_FILE", ""), []string{"input file: required"}},
	{"file not found", set("INPUT_FILE", "nope.ts"), []string{`input file: "nope.ts" not found`}},
	{"file escaping with ..", set("INPUT_FILE", "../../etc/passwd.ts"), []string{"input file:", "relative path inside"}},
	{"absolute file", set("INPUT_FILE", "/etc/x.ts"), []string{"input file:", "relative path inside"}},
	{"file with another extension", set("INPUT_FILE", "README.md"), []string{"must end in one of .ts, .tsx, .mts, .cts, .js, .mjs, .cjs"}},
	{"file is a directory", func(t *testing.T, h *harness) {
		h.write(t, "app/dir.ts/x", "")
		h.env["INPUT_FILE"] = "dir.ts"
	}, []string{`input file: "dir.ts" is not a regular file`}},
	{"file symlink leading outside", func(t *testing.T, h *harness) {
		outside := filepath.Join(t.TempDir(), "evil.ts")
		if err := os.WriteFile(outside, []byte("export {}"), 0o644); err != nil {
			t.Fatal(err)
		}
		symlink(t, outside, filepath.Join(h.workspace, "app", "link.ts"))
		h.env["INPUT_FILE"] = "link.ts"
	}, []string{"input file:", "leads outside the workspace"}},
	{"working-directory escaping with ..", set("INPUT_WORKING-DIRECTORY", "app/../.."), []string{"input working-directory:", "relative path inside"}},
	{"absolute working-directory", set("INPUT_WORKING-DIRECTORY", "/tmp"), []string{"input working-directory:", "relative path inside"}},
	{"working-directory not found", set("INPUT_WORKING-DIRECTORY", "nope"), []string{`input working-directory: "nope" does not exist`}},
	{"working-directory symlink leading outside", func(t *testing.T, h *harness) {
		symlink(t, t.TempDir(), filepath.Join(h.workspace, "out"))
		h.env["INPUT_WORKING-DIRECTORY"] = "out"
	}, []string{"input working-directory:", "leads outside the workspace"}},
	{"TypeScript syntax error", func(t *testing.T, h *harness) {
		h.write(t, "app/bad.ts", "export const upgradeState = (s: string) => {;\n")
		h.env["INPUT_FILE"] = "bad.ts"
	}, []string{"bundle of the migration app/bad.ts failed with 1 error(s) (annotated at their place above)"}},
	{"import of a package that is not installed", func(t *testing.T, h *harness) {
		h.write(t, "app/uses-zod.ts", "import { z } from \"zod\";\nexport const upgradeState = (s: unknown) => z.any().parse(s), upgradeContext = (c: unknown) => c;\n")
		h.env["INPUT_FILE"] = "uses-zod.ts"
	}, []string{"install the app's packages before this step (`npm ci`"}},
	{"missing exports", func(t *testing.T, h *harness) {
		h.write(t, "app/half.ts", "export function upgradeState(s: string) { return s; }\n")
		h.env["INPUT_FILE"] = "half.ts"
	}, []string{"half.ts does not export upgradeContext"}},
	{"oversize bundle", func(t *testing.T, h *harness) {
		// Small limits: what is tested is that the limits hold, not their size.
		h.opts = append(h.opts, withBundleLimits(bundle.Limits{Raw: 1000, Gzipped: 500}))
		h.write(t, "app/big.js", "export const upgradeState = (s) => s, upgradeContext = (c) => c;\nexport const a = \""+
			randomText(2000)+"\";\n")
		h.env["INPUT_FILE"] = "big.js"
	}, []string{"bundle too large", "(limit 1000)", "(limit 500)"}},
	{"gzip maybe", set("INPUT_GZIP", "maybe"), []string{`input gzip: "maybe" is not true or false`}},
	{"dry-run yes", set("INPUT_DRY-RUN", "yes"), []string{`input dry-run: "yes" is not true or false`}},
	{"unknown mode", set("INPUT_MODE", "deploy"), []string{`input mode: "deploy" is not a mode`}},
	{"timeout without unit", set("INPUT_TIMEOUT", "300"), []string{`input timeout: "300" is not a positive duration`}},
	{"negative timeout", set("INPUT_TIMEOUT", "-1m"), []string{"input timeout:"}},
	{"plain http api-url", set("INPUT_API-URL", "http://api.statebacked.dev"), []string{"input api-url:", "plain http"}},
	{"api-url not a URL", set("INPUT_API-URL", "api.statebacked.dev"), []string{"input api-url:", "not an absolute https URL"}},
	{"empty token", set("INPUT_TOKEN", ""), []string{"input token: empty", "STATEBACKED_TOKEN"}},
	{"empty token on a pull request", func(t *testing.T, h *harness) {
		h.env["INPUT_TOKEN"] = ""
		h.env["GITHUB_EVENT_NAME"] = "pull_request"
	}, []string{"input token: empty", "forks"}},
	{"version mode with from-version", func(_ *testing.T, h *harness) {
		versionMode(h)
		h.env["INPUT_FROM-VERSION"] = demoFrom
	}, []string{"input from-version: not used by mode version (only by migration, release)"}},
	{"release with to-version", func(_ *testing.T, h *harness) {
		releaseMode(h)
		h.env["INPUT_TO-VERSION"] = demoTo
	}, []string{"input to-version: not used by mode release (only by migration, upgrade)"}},
	{"release with from-version and no migration-file", func(_ *testing.T, h *harness) {
		releaseMode(h)
		h.env["INPUT_MIGRATION-FILE"] = ""
	}, []string{"input migration-file: required"}},
	{"release with migration-file and no from-version", func(_ *testing.T, h *harness) {
		releaseMode(h)
		h.env["INPUT_FROM-VERSION"] = ""
	}, []string{"a release deploys a migration only from from-version"}},
	{"machine without allowWrite", func(t *testing.T, h *harness) {
		versionMode(h)
		h.write(t, "app/machines/half.ts", "export default {};\nexport const allowRead = () => true;\n")
		h.env["INPUT_FILE"] = "machines/half.ts"
	}, []string{"machines/half.ts does not export allowWrite"}},
	{"index-selectors not an object", func(_ *testing.T, h *harness) {
		versionMode(h)
		h.env["INPUT_INDEX-SELECTORS"] = "[1, 2]"
	}, []string{`input index-selectors: "[1, 2]" is not a JSON object`}},
	{"indexes without create-machine", func(_ *testing.T, h *harness) {
		versionMode(h)
		h.env["INPUT_INDEXES"] = "email"
	}, []string{"input indexes: used only when create-machine is true"}},
	{"bad index name", func(_ *testing.T, h *harness) {
		versionMode(h)
		h.env["INPUT_CREATE-MACHINE"] = "true"
		h.env["INPUT_INDEXES"] = "email, by owner"
	}, []string{`input indexes: "by owner" is not an index name`}},
	{"create-machine in migration mode", set("INPUT_CREATE-MACHINE", "true"), []string{"input create-machine: not used by mode migration (only by version, release)"}},
	{"confirm-delete in migration mode", set("INPUT_CONFIRM-DELETE", demoMachine), []string{"input confirm-delete: not used by mode migration (only by teardown)"}},
	{"delete-instances in version mode", func(_ *testing.T, h *harness) {
		versionMode(h)
		h.env["INPUT_DELETE-INSTANCES"] = "true"
	}, []string{"input delete-instances: not used by mode version (only by teardown)"}},
	{"file in teardown mode", func(_ *testing.T, h *harness) {
		teardownMode(h)
		h.env["INPUT_FILE"] = demoFile
	}, []string{"input file: not used by mode teardown (only by migration, version, release)"}},
	{"teardown dry run without a token", func(_ *testing.T, h *harness) {
		teardownMode(h)
		h.env["INPUT_DRY-RUN"] = "true"
		h.env["INPUT_TOKEN"] = ""
	}, []string{"input token: empty", "the dry run of teardown lists the machine's instances, so it needs a token too"}},
	{"make-current maybe", func(_ *testing.T, h *harness) {
		versionMode(h)
		h.env["INPUT_MAKE-CURRENT"] = "maybe"
	}, []string{`input make-current: "maybe" is not true or false`}},
	{"token and key together", func(_ *testing.T, h *harness) {
		h.env["INPUT_KEY-ID"] = "sbk_test"
		h.env["INPUT_SECRET-KEY"] = testSecretKey
	}, []string{"input token: give a token, or key-id and secret-key, not both"}},
	{"key-id without secret-key", func(_ *testing.T, h *harness) {
		h.env["INPUT_TOKEN"] = ""
		h.env["INPUT_KEY-ID"] = "sbk_test"
	}, []string{"key-id and secret-key go together"}},
	{"key-id of the wrong form", func(_ *testing.T, h *harness) {
		h.env["INPUT_TOKEN"] = ""
		h.env["INPUT_KEY-ID"] = "key_test"
		h.env["INPUT_SECRET-KEY"] = testSecretKey
	}, []string{"input key-id: the key ID is not of the form sbk_..."}},
	{"secret key given as key-id", func(_ *testing.T, h *harness) {
		h.env["INPUT_TOKEN"] = ""
		h.env["INPUT_KEY-ID"] = testSecretKey
		h.env["INPUT_SECRET-KEY"] = testSecretKey
	}, []string{"input key-id: the key ID looks like a secret key"}},
	{"token shorter than 8 characters", set("INPUT_TOKEN", "t0k3n"), []string{"input token: shorter than 8 characters"}},
	{"secret-key shorter than 8 characters", func(_ *testing.T, h *harness) {
		h.env["INPUT_TOKEN"] = ""
		h.env["INPUT_KEY-ID"] = testKeyID
		h.env["INPUT_SECRET-KEY"] = "sbsec_1"
	}, []string{"input secret-key: shorter than 8 characters"}},
	{"api-url with credentials", set("INPUT_API-URL", "https://deployer:hunter2hunter2@api.statebacked.dev"),
		[]string{"input api-url: the URL must not contain credentials"}},
	{"token-lifetime over an hour", set("INPUT_TOKEN-LIFETIME", "2h"), []string{`input token-lifetime: "2h" is not a duration from 1s to 1h`}},
	{"several problems at once", func(t *testing.T, h *harness) {
		h.env["INPUT_MACHINE"] = ""
		h.env["INPUT_GZIP"] = "maybe"
	}, []string{"input machine: required", "input gzip:"}},
}

// codeProblems are the bad inputs of badInputs that are code that does not
// build or check, rather than inputs that cannot be run.
var codeProblems = map[string]bool{
	"TypeScript syntax error": true, "missing exports": true, "import of a package that is not installed": true, "oversize bundle": true, "machine without allowWrite": true,
}

// TestRunBadInput checks that each input a user can get wrong fails with a
// message naming the input and the fix, writes no output, and sends nothing.
func TestRunBadInput(t *testing.T) {
	t.Parallel()
	for _, tt := range badInputs {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			tt.setup(t, h)
			stdout, _, err := h.run(t)
			if err == nil {
				t.Fatal("run succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(stdout, "hunter2") {
				t.Errorf("the log repeats a password from a URL:\n%s", stdout)
			}
			// Inputs that cannot be run are usage errors (2); code that does
			// not build is a failed run (1). Neither sends anything.
			want := 2
			if codeProblems[tt.name] {
				want = 1
			}
			if got := ExitCode(err); got != want {
				t.Errorf("exit code %d, want %d", got, want)
			}
			if !strings.Contains(stdout, "::error::") {
				t.Errorf("no ::error:: command in the log:\n%s", stdout)
			}
			if n := len(h.em.Requests()); n != 0 {
				t.Errorf("%d requests sent for bad input, want none", n)
			}
			if out := h.outputs(t); len(out) != 0 {
				t.Errorf("outputs written on failure: %v", out)
			}
		})
	}
}

// randomText is n letters that do not compress.
func randomText(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz"[rand.IntN(26)]
	}
	return string(b)
}

func set(key, value string) func(*testing.T, *harness) {
	return func(_ *testing.T, h *harness) { h.env[key] = value }
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestRunAPIFailureWritesNoID checks that a deploy the API refuses exits
// non-zero, explains itself, and writes no output.
func TestRunAPIFailureWritesNoID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.em.FailNext(emulator.StepFinalize, 1, 403, `{"error":"no","code":"missing-scope"}`)
	stdout, _, err := h.run(t)
	if err == nil {
		t.Fatal("run succeeded")
	}
	if !strings.Contains(stdout, "::error::finalize failed: 403 Forbidden (missing-scope)") {
		t.Errorf("log lacks the API error:\n%s", stdout)
	}
	if out := h.outputs(t); len(out) != 0 {
		t.Errorf("outputs written on failure: %v", out)
	}
	if s := readFile(t, h.summary); !strings.Contains(s, "Deploy failed") {
		t.Errorf("summary does not say the deploy failed:\n%s", s)
	}
}

// TestRunMissingWorkspace checks that a GITHUB_WORKSPACE that does not exist
// here (as under act) falls back to the working directory.
func TestRunMissingWorkspace(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env["GITHUB_WORKSPACE"] = "/nonexistent/workspace"
	stdout, _, err := h.run(t)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "::debug::GITHUB_WORKSPACE /nonexistent/workspace does not exist here") {
		t.Errorf("no debug line about the missing workspace:\n%s", stdout)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), Process{Args: []string{"--help"}, Getenv: env{}.get, Stdout: &out, Stderr: &errOut})
	if !errors.Is(err, flag.ErrHelp) || ExitCode(err) != 0 {
		t.Fatalf("err = %v (exit code %d), want flag.ErrHelp and 0", err, ExitCode(err))
	}
	if errOut.Len() != 0 {
		t.Errorf("--help wrote to stderr:\n%s", errOut.String())
	}
	for _, in := range inputs {
		if !strings.Contains(out.String(), "--"+in.name) {
			t.Errorf("--help does not list --%s", in.name)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	return testkit.ReadFile(t, path)
}

// hasAll fails t for each of wants that text, called what, does not contain.
func hasAll(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, text)
		}
	}
}

// TestServerTextIsSafe checks that a hostile server's text cannot act on
// the log or the job summary: no control, bidi or separator characters
// reach the log, and links, images, HTML and comments reach the summary
// only as text.
func TestServerTextIsSafe(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := `{"error":"see [docs](https://evil.example) ![x](https://evil.example/p.png) <!-- hidden --> <img src=x> ` +
		"\u202eexe.txt\u0085::error::forged\u2028line" + `", "code":"invalid-parameter"}`
	h.em.FailNext(emulator.StepProvision, 1, 400, body)
	stdout, stderr, err := h.run(t)
	if err == nil {
		t.Fatal("run succeeded")
	}
	for _, bad := range []string{"\u202e", "\u0085", "\u2028", "\n::error::forged"} {
		if strings.Contains(stdout+stderr, bad) {
			t.Errorf("the log holds %q:\n%s", bad, stdout)
		}
	}
	// In the summary the server's text is inline code: there it cannot link,
	// render an image or HTML, or leave its cell.
	summary := readFile(t, h.summary)
	row := regexp.MustCompile("(?m)^\\| Error \\| `([^`|]*)` \\|$").FindStringSubmatch(summary)
	if row == nil || !strings.Contains(row[1], "see [docs](https://evil.example) ![x](https://evil.example/p.png) <!-- hidden -->") {
		t.Errorf("the summary's Error row is not the server's text as inline code:\n%s", summary)
	}
}

// TestBareBooleanFlags checks that boolean inputs work as bare flags, and
// with =false, and that a bare flag does not take the next flag as its
// value.
func TestBareBooleanFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env = env{"GITHUB_WORKSPACE": h.workspace}
	stdout, stderr, err := h.run(t, "--dry-run", "--machine", demoMachine, "--gzip=false",
		"--from-version", demoFrom, "--to-version", demoTo, "--working-directory", "app", "--file", demoFile)
	if err != nil {
		t.Fatalf("run: %v\n%s%s", err, stdout, stderr)
	}
	if n := len(h.em.Requests()); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
	if !strings.Contains(stdout, "notice: dry run:") || !strings.Contains(stdout, "\nupload-bytes=295\n") {
		t.Errorf("want a dry run of the machine toggle, uploading the code plain (not gzipped):\n%s", stdout)
	}
}

// TestLongInputIsCutInTheLog checks that a value echoed in an error is cut
// in the log (after secrets are hidden), not printed whole: a 120 kB machine
// name makes one line of about 4 kB.
func TestLongInputIsCutInTheLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env["INPUT_MACHINE"] = strings.Repeat("m", 120_000)
	stdout, _, err := h.run(t)
	if err == nil || ExitCode(err) != 2 {
		t.Fatalf("err = %v, want an input error", err)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if len(line) > maxLineBytes+100 {
			t.Errorf("a line of %d bytes reached the log", len(line))
		}
	}
	if !strings.Contains(stdout, "::error::input machine: \"mmmm") || !strings.Contains(stdout, " [cut: ") {
		t.Errorf("the log does not show the error, cut:\n%.300s", stdout)
	}
}

// TestFileCommandsMustBeFiles checks that outputs and the summary going to
// anything but a regular file is refused before any request: a FIFO would
// block the run beyond its time limit, a device would fail after deploying.
func TestFileCommandsMustBeFiles(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			h.env[name] = fifo
			start := time.Now()
			_, _, err := h.run(t)
			if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), name+" names "+fifo+", which is not a regular file") {
				t.Fatalf("err = %v, want an input error naming %s", err, name)
			}
			if n := len(h.em.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestWorkspaceIsNotTheRoot checks that the whole file system cannot be the
// workspace the bundle is confined to.
func TestWorkspaceIsNotTheRoot(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env["GITHUB_WORKSPACE"] = "/"
	_, _, err := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "the workspace is /, the root of the file system") {
		t.Fatalf("err = %v", err)
	}
	if n := len(h.em.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestOneErrorPerProblem checks that inputs with several problems give one
// ::error:: command for each, so that each shows as its own annotation.
func TestOneErrorPerProblem(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env["INPUT_DRY_RUN"] = "true"
	h.env["INPUT_MACHINE"] = ""
	h.env["INPUT_RETRIES"] = "11"
	stdout, _, err := h.run(t)
	if ExitCode(err) != 2 {
		t.Fatalf("exit code %d, want 2: %v", ExitCode(err), err)
	}
	var errs []string
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "::error::") {
			errs = append(errs, line)
		}
	}
	want := []string{"input dry_run:", "input machine:", "input retries:"}
	if len(errs) != len(want) {
		t.Fatalf("%d ::error:: commands, want %d:\n%s", len(errs), len(want), strings.Join(errs, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(errs[i], w) {
			t.Errorf("error %d = %q, want it to name %q", i, errs[i], w)
		}
	}
}
