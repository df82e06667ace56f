package bundle_test

import (
	"testing"

	"sbdeploy/internal/testkit"
)

// TestMain: a Build whose ctx ends returns at once and leaves esbuild to
// stop in the background.
func TestMain(m *testing.M) { testkit.Main(m, testkit.LeavesWork) }
