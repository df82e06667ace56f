package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"sbdeploy/emulator"
)

//go:embed testdata/example
var exampleFS embed.FS

// The example's machine and versions, as the emulator knows them.
const (
	demoMachine = "toggle"
	demoFrom    = "ver_toggle_1"
	demoTo      = "ver_toggle_2"
	demoFile    = "migrations/toggle-v1-to-v2.ts"
)

// demo deploys the embedded example through the real HTTP flow to an
// emulator of the API listening on 127.0.0.1, then lists what it received.
func demo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("demo takes no arguments")
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

	token := "demo_" + randomHex(16)
	em := emulator.New(emulator.Config{Token: token, Machines: map[string][]string{demoMachine: {demoFrom, demoTo}}})
	baseURL, stop, err := em.Listen("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start the emulator: %w", err)
	}
	defer stop()
	fmt.Fprintf(stdout, "emulator of the StateBacked API listening on %s\n", baseURL)

	// The demo is a plain CLI run: it must not write to a real workflow's
	// outputs or summary.
	env := func(key string) string {
		if strings.HasPrefix(key, "GITHUB_") || strings.HasPrefix(key, "INPUT_") || key == "STATEBACKED_TOKEN" {
			return ""
		}
		return getenv(key)
	}
	err = run(ctx, []string{
		"--machine", demoMachine, "--from-version", demoFrom, "--to-version", demoTo,
		"--file", demoFile, "--working-directory", ".",
		"--api-url", baseURL, "--token", token,
	}, withWorkspace(env, workspace), stdout, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "the emulator received:")
	for _, r := range em.Requests() {
		path := r.Path
		if r.RawQuery != "" {
			path += "?" + r.RawQuery
		}
		fmt.Fprintf(stdout, "  %-9s %-4s %s -> %d (%d-byte body)\n", r.Step, r.Method, path, r.Status, len(r.Body))
	}
	return nil
}

// serveEmulator runs the emulator on its own until the context ends, for
// local runs of the action, its image or act against it. It knows the
// example's machine; the token is STATEBACKED_TOKEN, or a random one it
// prints.
func serveEmulator(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sbdeploy emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8787", "address to listen on (keep it on loopback)")
	lenient := fs.Bool("lenient", false, "accept the official JS client's extra provision body keys (for benchmarks against it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token := getenv("STATEBACKED_TOKEN")
	if token == "" {
		token = "emulator_" + randomHex(16)
		fmt.Fprintf(stdout, "token: %s (set STATEBACKED_TOKEN to choose one)\n", token)
	}
	em := emulator.New(emulator.Config{Token: token, Machines: map[string][]string{demoMachine: {demoFrom, demoTo}},
		AllowExtraProvisionFields: *lenient})
	baseURL, stop, err := em.Listen(*listen)
	if err != nil {
		return fmt.Errorf("start the emulator: %w", err)
	}
	defer stop()
	fmt.Fprintf(stdout, "emulator of the StateBacked API listening on %s (machine %s, versions %s and %s); Ctrl-C stops it\n",
		baseURL, demoMachine, demoFrom, demoTo)
	<-ctx.Done()
	fmt.Fprintf(stdout, "stopped after %d requests\n", len(em.Requests()))
	return nil
}

func withWorkspace(getenv func(string) string, dir string) func(string) string {
	return func(key string) string {
		if key == "GITHUB_WORKSPACE" {
			return dir
		}
		return getenv(key)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
