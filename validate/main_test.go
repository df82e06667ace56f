package validate_test

import (
	"testing"

	"sbdeploy/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }
