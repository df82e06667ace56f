package deploy_test

import (
	"testing"

	"sbdeploy/internal/testkit"
)

// TestMain: the client leaves no work running once a call has returned.
func TestMain(m *testing.M) { testkit.Main(m) }
