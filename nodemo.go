//go:build noemulator

package main

import (
	"context"
	"errors"

	"sbdeploy/action"
)

// The action's image is built with the noemulator tag: its users run the
// action, never the demo or the emulator, so the image leaves them out.
var errNoEmulator = errors.New("not in this build (the action's image): use a release binary, or `go run . emulator` in a checkout")

func demo(context.Context, action.Process) error          { return errNoEmulator }
func serveEmulator(context.Context, action.Process) error { return errNoEmulator }
