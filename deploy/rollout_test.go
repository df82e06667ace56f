package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// rolloutConfig is a machine with versions v1, v2 and v3, migrations
// v1 -> v2 only, and instances: a-* on v1 (movable), b-* on v2 (the
// target), c-* on v3 (no path back to v2: stranded).
func rolloutConfig(a, b, c int) emulator.Config {
	versions := map[string]string{}
	var instances []string
	add := func(prefix, version string, n int) {
		for i := range n {
			name := fmt.Sprintf("%s-%02d", prefix, i)
			instances = append(instances, name)
			versions[name] = version
		}
	}
	add("a", "ver_1", a)
	add("b", "ver_2", b)
	add("c", "ver_3", c)
	return emulator.Config{
		Machines:         map[string][]string{"toggle": {"ver_1", "ver_2", "ver_3"}},
		Instances:        map[string][]string{"toggle": instances},
		InstanceVersions: map[string]map[string]string{"toggle": versions},
		Migrations:       map[string][][2]string{"toggle": {{"ver_1", "ver_2"}}},
		PageSize:         4,
	}
}

// puts returns, per instance, the bodies of the PUT requests it got.
func puts(em *testkit.Emu) map[string][]string {
	out := map[string][]string{}
	for _, r := range em.Requests() {
		if r.Step == emulator.StepSetInstanceVersion {
			out[r.Path] = append(out[r.Path], string(r.Body))
		}
	}
	return out
}

func TestRollout(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, rolloutConfig(5, 3, 2))
	var progress []int
	res, err := newClient(t, url).Rollout(context.Background(), deploy.Rollout{
		Machine: "toggle", To: "ver_2", Progress: func(p deploy.RolloutProgress) { progress = append(progress, p.Asked+p.Stranded) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := deploy.RolloutResult{
		Instances: 10, Before: map[string]int{"ver_1": 5, "ver_2": 3, "ver_3": 2},
		After:    map[string]int{"ver_2": 8, "ver_3": 2},
		OnTarget: 3, Asked: 5, Stranded: 2, StrandedNames: []string{"c-00", "c-01"},
		Throttling: deploy.Throttling{Attempts: 7, PeakLimit: 8},
	}
	res.Took = 0
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	// Every instance not on the target was asked once, with exactly the
	// target in the body; none on the target was asked.
	wantPuts := map[string][]string{}
	for _, name := range []string{"a-00", "a-01", "a-02", "a-03", "a-04", "c-00", "c-01"} {
		wantPuts["/machines/toggle/i/"+name+"/v"] = []string{`{"targetMachineVersionId":"ver_2"}`}
	}
	if diff := cmp.Diff(wantPuts, puts(em)); diff != "" {
		t.Errorf("PUT requests (-want +got):\n%s", diff)
	}
	for i := range 5 {
		if v, ok := em.DesiredVersion("toggle", fmt.Sprintf("a-%02d", i)); !ok || v != "ver_2" {
			t.Errorf("a-%02d desired version = %q, %v; want ver_2", i, v, ok)
		}
	}
	if !slices.Equal(progress, []int{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("progress = %v, want 1 to 7 answered", progress)
	}
	if n := steps(em)[emulator.StepListInstances]; n != 3 {
		t.Errorf("%d list requests, want 3 pages of 4", n)
	}
}

func TestRolloutDryRun(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, rolloutConfig(5, 3, 2))
	res, err := newClient(t, url).Rollout(context.Background(), deploy.Rollout{Machine: "toggle", To: "ver_2", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := deploy.RolloutResult{Instances: 10, Before: map[string]int{"ver_1": 5, "ver_2": 3, "ver_3": 2}, After: map[string]int{}, OnTarget: 3, Asked: 7}
	res.Took = 0
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if p := puts(em); len(p) != 0 {
		t.Errorf("a dry run sent PUT requests: %v", p)
	}
}

// TestRolloutSurvivesFaults hits the rollout with 503s and a connection
// reset: each is retried, and every movable instance ends up asked.
func TestRolloutSurvivesFaults(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, rolloutConfig(6, 1, 0))
	em.InjectSequence(emulator.StepSetInstanceVersion,
		testkit.Fault{Status: 503}, testkit.Fault{Reset: true}, testkit.Fault{Status: 503, Body: `{"error":"busy"}`})
	em.InjectSequence(emulator.StepListInstances, testkit.Fault{Status: 502})
	res, err := newClient(t, url).Rollout(context.Background(), deploy.Rollout{Machine: "toggle", To: "ver_2", MaxConcurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Asked != 6 || res.OnTarget != 1 || res.Stranded != 0 {
		t.Errorf("result %+v, want 6 asked, 1 on target", res)
	}
	for i := range 6 {
		if v, _ := em.DesiredVersion("toggle", fmt.Sprintf("a-%02d", i)); v != "ver_2" {
			t.Errorf("a-%02d desired version = %q, want ver_2", i, v)
		}
	}
}

// TestRolloutStopsOnOtherErrors checks that an error that is not a missing
// migration path ends the rollout, saying how far it got.
func TestRolloutStopsOnOtherErrors(t *testing.T) {
	t.Parallel()
	cfg := rolloutConfig(5, 0, 0)
	cfg.Scopes = []string{"instances.read"}
	em, url := testkit.Emulator(t, cfg)
	res, err := newClient(t, url).Rollout(context.Background(), deploy.Rollout{Machine: "toggle", To: "ver_2", MaxConcurrency: 1})
	var apiErr *deploy.APIError
	if !errors.As(err, &apiErr) || apiErr.MissingScope() != "instances.write" {
		t.Fatalf("err = %v, want 403 missing instances.write", err)
	}
	if res.Asked != 0 || res.Instances != 4 {
		t.Errorf("result %+v: want the first page listed, none asked", res)
	}
	if n := steps(em)[emulator.StepSetInstanceVersion]; n != 1 {
		t.Errorf("%d PUT requests, want 1: nothing starts after a failure", n)
	}
}

func TestFindVersion(t *testing.T) {
	t.Parallel()
	cfg := emulator.Config{
		Machines:          map[string][]string{"toggle": {"ver_1", "ver_2", "ver_3"}},
		CurrentVersions:   map[string]string{"toggle": "ver_2"},
		VersionClientInfo: map[string]string{"ver_1": "sha-one", "ver_2": "sha-two", "ver_3": "sha-three"},
		PageSize:          1,
	}
	tests := []struct {
		name       string
		clientInfo string
		current    bool
		want       string // version ID; "" for none
		requests   map[emulator.Step]int
	}{
		{"the current version", "sha-two", true, "ver_2", map[emulator.Step]int{emulator.StepGetMachine: 1}},
		{"a version that is not current, with current", "sha-one", true, "", map[emulator.Step]int{emulator.StepGetMachine: 1}},
		{"a version that is not current", "sha-one", false, "ver_1", map[emulator.Step]int{emulator.StepListVersions: 3}},
		{"none", "sha-none", false, "", map[emulator.Step]int{emulator.StepListVersions: 3}},
		{"empty client info never matches", "", false, "", map[emulator.Step]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, url := testkit.Emulator(t, cfg)
			v, err := newClient(t, url).FindVersion(context.Background(), "toggle", tt.clientInfo, tt.current)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if v != nil {
				got = v.ID
			}
			if got != tt.want {
				t.Errorf("FindVersion = %q, want %q", got, tt.want)
			}
			if diff := cmp.Diff(tt.requests, steps(em)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGetMachine checks that the current version is read from the answer.
func TestGetMachine(t *testing.T) {
	t.Parallel()
	_, url := testkit.Emulator(t, emulator.Config{
		Machines:          map[string][]string{"toggle": {"ver_1"}, "empty": {}},
		CurrentVersions:   map[string]string{"toggle": "ver_1"},
		VersionClientInfo: map[string]string{"ver_1": "sha-one"},
	})
	c := newClient(t, url)
	m, err := c.GetMachine(context.Background(), "toggle")
	if err != nil || m.CurrentVersion == nil || m.CurrentVersion.ID != "ver_1" || m.CurrentVersion.ClientInfo != "sha-one" {
		b, _ := json.Marshal(m)
		t.Fatalf("GetMachine = %s, %v; want current version ver_1 (sha-one)", b, err)
	}
	if m, err := c.GetMachine(context.Background(), "empty"); err != nil || m.CurrentVersion != nil {
		t.Errorf("GetMachine(empty) = %+v, %v; want no current version", m, err)
	}
	if _, err := c.GetMachine(context.Background(), "nope"); !deploy.IsNotFound(err) {
		t.Errorf("GetMachine(nope) err = %v, want 404", err)
	}
}
