package validate

import (
	"context"
	"os"
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

// variantOf returns the evaluation variant of an entry point whose source
// is given, with testdata/validate's xstate: for the cases that need no
// file of their own.
func variantOf(tb testing.TB, source string) []byte {
	tb.Helper()
	dir := tb.TempDir()
	modules, err := filepath.Abs(filepath.Join("..", "testdata", "validate", "node_modules"))
	if err == nil {
		err = os.Symlink(modules, filepath.Join(dir, "node_modules"))
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "entry.ts"), []byte(source), 0o600)
	}
	if err != nil {
		tb.Fatal(err)
	}
	// The build may read the symlinked xstate, outside dir.
	code, err := bundle.BuildCheck(context.Background(), bundle.Options{Dir: dir, Entry: "entry.ts", Root: string(filepath.Separator)}, check)
	if err != nil {
		tb.Fatalf("build: %v", err)
	}
	return code
}
