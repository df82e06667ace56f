package bundle_test

import (
	"fmt"
	"log"
	"path/filepath"

	"sbdeploy/bundle"
)

func ExampleBuild() {
	dir, err := filepath.Abs("../testdata/example")
	if err != nil {
		log.Fatal(err)
	}
	b, err := bundle.Build(bundle.Options{
		Dir:     dir,
		Entry:   "migrations/toggle-v1-to-v2.ts",
		Exports: bundle.MigrationExports,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.Exports)
	fmt.Println(len(b.Gzipped) < len(b.Code))
	// Output:
	// [upgradeContext upgradeState]
	// true
}
