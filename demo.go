//go:build !noemulator

package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sbdeploy/action"
	"sbdeploy/emulator"
)

//go:embed testdata/example
var exampleFS embed.FS

// xstateFS is the xstate that the tests evaluate machines with: the
// migration check evaluates the example's machines, which import it, and
// the demo's copy of the example has no node_modules of its own.
//
//go:embed all:testdata/validate/node_modules/xstate
var xstateFS embed.FS

// The example's machine and versions, as the emulator knows them.
const (
	demoMachine = "toggle"
	demoFrom    = "ver_toggle_1"
	demoTo      = "ver_toggle_2"
	demoFile    = "migrations/toggle-v1-to-v2.ts"
	demoV1      = "machines/toggle-v1.ts" // the machine that demoFrom is
	demoV2      = "machines/toggle.ts"    // the machine that demoTo is
)

// demoInstances are the instances the demo seeds on demoFrom, to replay
// the migration on: their states and contexts.
var demoInstances = map[string]emulator.InstanceState{
	"alice": {State: json.RawMessage(`"on"`), Context: json.RawMessage(`{"lastSwitchedAt":"2024-05-01T08:00:00.000Z"}`)},
	"bob":   {State: json.RawMessage(`"off"`), Context: json.RawMessage(`{}`)},
	"carol": {State: json.RawMessage(`"off"`), Context: json.RawMessage(`{"lastSwitchedAt":"2024-06-11T17:30:00.000Z"}`)},
}

// demo deploys the embedded example through the real HTTP flow to an
// emulator of the API listening on 127.0.0.1, then lists what it received.
func demo(ctx context.Context, p action.Process) error {
	if len(p.Args) > 0 {
		return usageErr(fmt.Sprintf("takes no arguments, got %q", p.Args[0]))
	}
	workspace, err := os.MkdirTemp("", "sbdeploy-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workspace)
	example, err := fs.Sub(exampleFS, "testdata/example")
	if err != nil {
		return err
	}
	if err := os.CopyFS(workspace, example); err != nil {
		return err
	}
	xstate, err := fs.Sub(xstateFS, "testdata/validate/node_modules/xstate")
	if err != nil {
		return err
	}
	if err := os.CopyFS(filepath.Join(workspace, "node_modules", "xstate"), xstate); err != nil {
		return err
	}
	token := "demo_" + randomHex(16)
	em := emulator.New(emulator.Config{Token: token, Machines: map[string][]string{demoMachine: {demoFrom, demoTo}},
		Instances:      map[string][]string{demoMachine: slices.Sorted(maps.Keys(demoInstances))},
		InstanceStates: map[string]map[string]emulator.InstanceState{demoMachine: demoInstances}})
	baseURL, stop, err := em.Listen("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start the emulator: %w", err)
	}
	defer stop()
	fmt.Fprintf(p.Stdout, "emulator of the StateBacked API listening on %s\n", baseURL)

	// The demo is a plain CLI run in the example's copy: it must not write
	// to a real workflow's outputs or summary, nor use a real token.
	getenv := p.Getenv
	run := p
	run.Dir = workspace
	run.Getenv = func(key string) string {
		if strings.HasPrefix(key, "GITHUB_") || strings.HasPrefix(key, "INPUT_") || key == "STATEBACKED_TOKEN" {
			return ""
		}
		return getenv(key)
	}
	run.Args = []string{"--machine", demoMachine, "--from-version", demoFrom, "--to-version", demoTo,
		"--file", demoFile, "--from-machine-file", demoV1, "--to-machine-file", demoV2, "--replay-instances", "10",
		"--api-url", baseURL, "--token", token}
	if err := action.Run(ctx, run); err != nil {
		return errors.New("the deploy failed (see above)")
	}
	fmt.Fprintln(p.Stdout, "the emulator received:")
	for _, r := range em.Requests() {
		path := r.Path
		if r.RawQuery != "" {
			path += "?" + r.RawQuery
		}
		fmt.Fprintf(p.Stdout, "  %-14s %-4s %s -> %d (%d-byte body)\n", r.Step, r.Method, path, r.Status, len(r.Body))
	}
	return nil
}

// keyFlag collects sbk_...:sbsec_... pairs, of --key or --admin-key.
type keyFlag map[string]string

func (k keyFlag) String() string { return "" }
func (k keyFlag) Set(v string) error {
	id, secret, ok := strings.Cut(v, ":")
	if !ok || !strings.HasPrefix(id, "sbk_") || !strings.HasPrefix(secret, "sbsec_") {
		return errors.New("want sbk_<id>:sbsec_<secret>")
	}
	k[id] = secret
	return nil
}

// maxSeeded is the most instances --instances seeds: a million take about
// two seconds to seed and 165 MB to hold (docs/local-runs.md).
const maxSeeded = 1_000_000

// serveEmulator runs the emulator on its own until the context ends (Ctrl-C
// or SIGTERM), for local runs of the action, its image or act against it. It
// knows the example's machine, with --instances seeded instances on its
// first version; the token is STATEBACKED_TOKEN, or a random one it prints.
// It accepts the tokens minted from --key keys, with the scopes of a CI key,
// and from --admin-key keys, with every scope, as the token has.
func serveEmulator(ctx context.Context, p action.Process) error {
	fs := flag.NewFlagSet("sbdeploy emulator", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:8787", "address to listen on (keep it on loopback)")
	port := fs.Int("port", 0, "port to listen on, on 127.0.0.1 (instead of --listen)")
	lenient := fs.Bool("lenient", false, "accept the official JS client's extra provision body keys (for benchmarks against it)")
	instances := fs.Int("instances", 0, fmt.Sprintf("seed this many instances of %s (0 to %d), inst-000001 and on, running %s", demoMachine, maxSeeded, demoFrom))
	latency := fs.Duration("latency", 0, "delay each API answer this long, as a round trip would (20ms, 100ms)")
	capacity := fs.Int("capacity", 0, "serve at most this many API requests at once, each for --latency; more wait (0: no limit)")
	rate := fs.Float64("rate-limit", 0, "serve at most this many API requests a second, answering 429 with Retry-After past it (0: no limit)")
	burst := fs.Int("rate-burst", 0, "with --rate-limit, the requests allowed at once (0: one second's worth)")
	ciKeys, adminKeys := keyFlag{}, keyFlag{}
	fs.Var(ciKeys, "key", "a CI key the emulator accepts, as sbk_<id>:sbsec_<secret> (repeatable); its tokens have only "+strings.Join(emulator.CIScopes(), ", "))
	fs.Var(adminKeys, "admin-key", "a key whose tokens have every scope, as the token has, as sbk_<id>:sbsec_<secret> (repeatable)")
	switch err := fs.Parse(p.Args); {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(p.Stdout)
		fmt.Fprintln(p.Stdout, "Usage: sbdeploy emulator [flags]")
		fs.PrintDefaults()
		return nil
	case err != nil:
		return usageErr(err.Error())
	case fs.NArg() > 0:
		return usageErr(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	case *port < 0 || *port > 65535:
		return usageErr(fmt.Sprintf("--port %d is not a port", *port))
	case *instances < 0 || *instances > maxSeeded:
		return usageErr(fmt.Sprintf("--instances %d is not 0 to %d", *instances, maxSeeded))
	case *latency < 0 || *capacity < 0 || *rate < 0 || *burst < 0:
		return usageErr("--latency, --capacity, --rate-limit and --rate-burst take no negative value")
	case *port != 0:
		*listen = "127.0.0.1:" + strconv.Itoa(*port)
	}
	for _, id := range slices.Sorted(maps.Keys(ciKeys)) {
		if _, ok := adminKeys[id]; ok {
			return usageErr(fmt.Sprintf("key %s is given to both --key and --admin-key: give it to one", id))
		}
	}
	ctx, cancel := withParent(ctx, 250*time.Millisecond)
	defer cancel()
	token := p.Getenv("STATEBACKED_TOKEN")
	if token == "" {
		token = "emulator_" + randomHex(16)
		fmt.Fprintf(p.Stdout, "token: %s (set STATEBACKED_TOKEN to choose one)\n", token)
	}
	// Config.Instances runs them on the machine's first version, demoFrom:
	// no per-instance map is needed for a million of them. Nothing reads
	// the request log here, which a rehearsal at that scale would fill with
	// gigabytes: NoRecord.
	em := emulator.New(emulator.Config{Token: token, Machines: map[string][]string{demoMachine: {demoFrom, demoTo}},
		Instances: map[string][]string{demoMachine: seededSlugs(*instances)},
		// Seeded instances are switched off, a state of demoFrom's machine
		// (machines/toggle-v1.ts), so that a replay of the example's
		// migration finds them where that machine has states.
		DefaultInstanceState: emulator.InstanceState{State: json.RawMessage(`"off"`), Context: json.RawMessage(`{}`)},
		Latency:              *latency, Capacity: *capacity, RateLimit: *rate, RateBurst: *burst,
		Keys: adminKeys, CIKeys: ciKeys, AllowExtraProvisionFields: *lenient, NoRecord: true})
	baseURL, stop, err := em.Listen(*listen)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s is in use, by another emulator or another program: stop it, or pass --port with a free port", *listen)
	}
	if err != nil {
		return fmt.Errorf("start the emulator: %w", err)
	}
	defer stop()
	fmt.Fprintf(p.Stdout, "emulator of the StateBacked API listening on %s (machine %s, versions %s and %s; %s; %s); Ctrl-C stops it\n",
		baseURL, demoMachine, demoFrom, demoTo, describeSeeded(*instances), describeKeys(ciKeys, adminKeys))
	<-ctx.Done()
	fmt.Fprintf(p.Stdout, "stopped after %d requests\n", em.Served())
	return nil
}

// seededSlugs returns the slugs of n seeded instances.
func seededSlugs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = seededSlug(i+1, n)
	}
	return out
}

// seededSlug returns the slug of the ith (from 1) of n seeded instances,
// inst-000001 on: zero-padded to one width, so that the listing, in slug
// order, is in number order.
func seededSlug(i, n int) string {
	return fmt.Sprintf("inst-%0*d", max(6, len(strconv.Itoa(n))), i)
}

// describeSeeded says which instances seededSlugs(n) are.
func describeSeeded(n int) string {
	switch n {
	case 0:
		return "no instances"
	case 1:
		return fmt.Sprintf("instance %s on %s", seededSlug(1, 1), demoFrom)
	}
	return fmt.Sprintf("%d instances, %s to %s, on %s", n, seededSlug(1, n), seededSlug(n, n), demoFrom)
}

// describeKeys says which keys the emulator accepts, with their scopes.
func describeKeys(ci, admin keyFlag) string {
	list := func(kind string, keys keyFlag, scopes string) string {
		ids := slices.Sorted(maps.Keys(keys))
		if len(ids) > 1 {
			kind += "s"
		}
		return fmt.Sprintf("%s %s with %s", kind, strings.Join(ids, ", "), scopes)
	}
	var parts []string
	if len(ci) > 0 {
		parts = append(parts, list("CI key", ci, "only "+strings.Join(emulator.CIScopes(), ", ")))
	}
	if len(admin) > 0 {
		parts = append(parts, list("admin key", admin, "every scope"))
	}
	if len(parts) == 0 {
		return "no keys"
	}
	return strings.Join(parts, "; ")
}

// withParent returns a context that also ends when this process's parent
// does. `go run . emulator` runs the emulator as a child of the go command,
// which exits on SIGTERM without passing it on: the emulator must not stay
// behind, holding its port. The parent is checked every interval.
func withParent(ctx context.Context, interval time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	parent := os.Getppid()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != parent {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
