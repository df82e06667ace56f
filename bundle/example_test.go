package bundle_test

import (
	"context"
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
	b, err := bundle.Build(context.Background(), bundle.Options{
		Dir:   dir,
		Entry: "migrations/toggle-v1-to-v2.ts",
		Kind:  bundle.Migration,
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
