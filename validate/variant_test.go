package validate

import (
	"context"
	"path/filepath"
	"testing"

	"sbdeploy/bundle"
)

// check is how the action builds the evaluation variant: package bundle's
// upload build, changed as this package's documentation says.
var check = bundle.Check{GlobalName: GlobalName, Outfile: Outfile, Unsupported: Unsupported()}

// variant returns the evaluation variant of testdata/validate/<entry>, built
// by package bundle as the action builds it.
func variant(tb testing.TB, entry string) []byte {
	tb.Helper()
	code, err := build(entry)
	if err != nil {
		tb.Fatalf("build %s: %v", entry, err)
	}
	return code
}

func build(entry string) ([]byte, error) {
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "validate"))
	if err != nil {
		return nil, err
	}
	return bundle.BuildCheck(context.Background(), bundle.Options{Dir: dir, Entry: entry}, check)
}
