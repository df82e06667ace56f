//go:build !noemulator

package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/action"
)

func TestServeEmulatorFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string // in the usage error
	}{
		{name: "negative instances", args: []string{"--instances", "-1"}, want: "--instances -1 is not 0 to 1000000"},
		{name: "too many instances", args: []string{"--instances", "1000001"}, want: "--instances 1000001 is not 0 to 1000000"},
		{name: "instances not a number", args: []string{"--instances", "many"}, want: `invalid value "many" for flag -instances`},
		{name: "a bad admin key", args: []string{"--admin-key", "sbk_x"}, want: "want sbk_<id>:sbsec_<secret>"},
		{name: "a key both CI and admin", args: []string{"--key", "sbk_a:sbsec_1", "--admin-key", "sbk_b:sbsec_2", "--admin-key", "sbk_a:sbsec_3"},
			want: "key sbk_a is given to both --key and --admin-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out syncBuffer
			// Cancelled: were the flags accepted, the emulator would stop
			// at once rather than serve on.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := serveEmulator(ctx, action.Process{Args: append([]string{"--listen", "127.0.0.1:0"}, tc.args...),
				Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out})
			var usage usageErr
			if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serveEmulator(%q) = %v, want a usage error containing %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestEmulatorSeededSlugs checks the slugs of --instances: zero-padded to
// one width, so that the listing's slug order is their number order.
func TestEmulatorSeededSlugs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    int
		want []string // of the instances numbered at
		at   []int
	}{
		{name: "one", n: 1, at: []int{1}, want: []string{"inst-000001"}},
		{name: "six digits", n: 999_999, at: []int{1, 99_999, 100_000, 999_999}, want: []string{"inst-000001", "inst-099999", "inst-100000", "inst-999999"}},
		{name: "a million, seven digits", n: 1_000_000, at: []int{1, 999_999, 1_000_000}, want: []string{"inst-0000001", "inst-0999999", "inst-1000000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, i := range tc.at {
				got = append(got, seededSlug(i, tc.n))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("slugs mismatch (-want +got):\n%s", diff)
			}
			if !slices.IsSorted(got) {
				t.Errorf("slugs %q are not in number order", got)
			}
		})
	}
	if diff := cmp.Diff([]string{"inst-000001", "inst-000002", "inst-000003"}, seededSlugs(3)); diff != "" {
		t.Errorf("seededSlugs(3) mismatch (-want +got):\n%s", diff)
	}
}

// startServeEmulator runs serveEmulator with args for the test's duration,
// and returns its base URL and what it printed on starting.
func startServeEmulator(t *testing.T, args ...string) (url, started string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- serveEmulator(ctx, action.Process{Args: append([]string{"--listen", "127.0.0.1:0"}, args...),
			Getenv: func(k string) string { return map[string]string{"STATEBACKED_TOKEN": testToken}[k] }, Stdout: &out, Stderr: &out})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveEmulator: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, rest, ok := strings.Cut(out.String(), "listening on "); ok && strings.Contains(rest, "\n") {
			url, _, _ = strings.Cut(rest, " ")
			return url, out.String()
		}
	}
	t.Fatalf("the emulator did not say it listens within 10 s:\n%s", out.String())
	return "", ""
}

// TestServeEmulatorRehearsals runs an upgrade and a teardown against
// `sbdeploy emulator --instances`, with a CI key and with an admin key: the
// CI key lacks the instance and admin scopes, as a real one does.
func TestServeEmulatorRehearsals(t *testing.T) {
	t.Parallel()
	const ciKey, ciSecret = "sbk_rehearsal_ci", "sbsec_rehearsal_ci_0123"
	const adminKey, adminSecret = testKeyID, testSecretKey
	migrateAndUpgrade := func(p *program) { p.env["INPUT_UPGRADE-INSTANCES"] = "true" }
	upgrade := func(p *program) {
		p.env["INPUT_MODE"] = "upgrade"
		for _, k := range []string{"INPUT_FROM-VERSION", "INPUT_FILE", "INPUT_WORKING-DIRECTORY"} {
			delete(p.env, k)
		}
	}
	teardown := func(deleteInstances string) func(*program) {
		return func(p *program) {
			p.env = map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": p.output, "INPUT_MODE": "teardown",
				"INPUT_MACHINE": demoMachine, "INPUT_CONFIRM-DELETE": demoMachine, "INPUT_DELETE-INSTANCES": deleteInstances}
		}
	}
	tests := []struct {
		name        string
		keyID       string
		secret      string
		setup       func(*program)
		code        int
		stdout      string            // a substring
		wantOutputs map[string]string // a subset of the outputs
	}{
		{name: "CI key: a migration, then its rollout", keyID: ciKey, secret: ciSecret, setup: migrateAndUpgrade, code: 1, stdout: "lacks the instances.read scope"},
		{name: "admin key: a migration, then its rollout", keyID: adminKey, secret: adminSecret, setup: migrateAndUpgrade, code: 0,
			wantOutputs: map[string]string{"upgraded-instances": "250", "stranded-instances": "0"}},
		{name: "CI key: an upgrade with no migration", keyID: ciKey, secret: ciSecret, setup: upgrade, code: 1, stdout: "lacks the instances.read scope"},
		{name: "admin key: an upgrade with no migration", keyID: adminKey, secret: adminSecret, setup: upgrade, code: 0, stdout: "250 stranded",
			wantOutputs: map[string]string{"upgraded-instances": "0", "stranded-instances": "250"}},
		{name: "CI key: a teardown", keyID: ciKey, secret: ciSecret, setup: teardown("false"), code: 1, stdout: "lacks the machines.admin scope"},
		{name: "CI key: a teardown with its instances", keyID: ciKey, secret: ciSecret, setup: teardown("true"), code: 1, stdout: "lacks the instances.read scope"},
		{name: "admin key: a teardown with its instances", keyID: adminKey, secret: adminSecret, setup: teardown("true"), code: 0,
			wantOutputs: map[string]string{"deleted": "true", "deleted-instances": "250"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, started := startServeEmulator(t, "--instances", "250", "--key", ciKey+":"+ciSecret, "--admin-key", adminKey+":"+adminSecret)
			for _, want := range []string{"250 instances, inst-000001 to inst-000250, on " + demoFrom,
				"CI key " + ciKey + " with only machines.read, machines.write, machine-versions.read, machine-versions.write",
				"admin key " + adminKey + " with every scope"} {
				if !strings.Contains(started, want) {
					t.Errorf("the start-up line lacks %q:\n%s", want, started)
				}
			}
			p := newProgram(t)
			tc.setup(p)
			delete(p.env, "INPUT_TOKEN")
			p.env["INPUT_API-URL"], p.env["INPUT_KEY-ID"], p.env["INPUT_SECRET-KEY"] = url, tc.keyID, tc.secret
			code, stdout, stderr := p.run(t)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) {
				t.Errorf("exit code %d, want %d with %q in stdout\nstdout:\n%s\nstderr:\n%s", code, tc.code, tc.stdout, stdout, stderr)
			}
			got := outputs(t, p.output)
			for k, v := range tc.wantOutputs {
				if got[k] != v {
					t.Errorf("output %s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}
