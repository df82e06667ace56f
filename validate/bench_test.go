package validate

import (
	"context"
	"sbdeploy/bundle"
	"testing"
)

// BenchmarkCheck measures what the check adds to every deploy of a machine
// version: evaluating a small machine with xstate bundled in (138 KB of
// script, 96 KB of it the inline sourcemap) and checking its exports.
func BenchmarkCheck(b *testing.B) {
	script := variant(b, "machine.ts")
	b.SetBytes(int64(len(script)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(context.Background(), script, bundle.MachineVersion, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
