package deploy_test

import (
	"context"
	"testing"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// TestReplayStatesListedTwice checks that a listing that names an instance
// twice (a server's fault) gives its state twice, and never a slot without
// one.
func TestReplayStatesListedTwice(t *testing.T) {
	t.Parallel()
	em, url := testkit.Emulator(t, stateConfig())
	knob := `{"slug":"knob","status":"running","machineVersion":{"id":"ver_2","createdAt":"2024-01-01T00:00:00.000Z","clientInfo":""}}`
	em.FailNext(emulator.StepListInstances, 1, 200, `{"instances":[`+knob+`,`+knob+`]}`)
	var got []deploy.Replayed
	err := newClient(t, url).ReplayStates(context.Background(), "toggle", "ver_2", 10, func(page []deploy.Replayed) error {
		got = append(got, page...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].InstanceState == nil || got[1].InstanceState == nil || got[0].Name != "knob" || got[1].Name != "knob" {
		t.Errorf("got %+v, want knob's state twice", got)
	}
}
