package bundle_test

import (
	"context"
	"errors"
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

// The advice for an import that esbuild could not resolve depends on what
// the import names.
func ExampleKindOfImport() {
	dir, err := filepath.Abs("../testdata/bundle/unresolved")
	if err != nil {
		log.Fatal(err)
	}
	_, err = bundle.Build(context.Background(), bundle.Options{Dir: dir, Entry: "entry.ts", Kind: bundle.Migration})
	var be *bundle.BuildError
	if !errors.As(err, &be) {
		log.Fatal(err)
	}
	for _, m := range be.Messages {
		switch bundle.KindOfImport(m.Unresolved) {
		case bundle.NodeImport:
			name, _ := bundle.NodeBuiltin(m.Unresolved)
			fmt.Printf("%s:%d: %s is built into Node.js, which StateBacked does not run\n", m.File, m.Line, name)
		case bundle.PackageImport:
			fmt.Printf("%s:%d: %s is not installed: run npm ci\n", m.File, m.Line, m.Unresolved)
		}
	}
	for _, p := range []string{"node:crypto", "fs/promises", "lodash-es/map", "xstate/guards", "./util"} {
		fmt.Printf("%s: %v\n", p, bundle.KindOfImport(p))
	}
	// Output:
	// entry.ts:1: left-pad-not-installed is not installed: run npm ci
	// node:crypto: Node.js built-in module
	// fs/promises: Node.js built-in module
	// lodash-es/map: package
	// xstate/guards: xstate
	// ./util: path
}

// Progress is told how many modules the build has loaded; the last count
// is the total.
func ExampleOptions_progress() {
	dir, err := filepath.Abs("../testdata/example")
	if err != nil {
		log.Fatal(err)
	}
	loaded := 0
	_, err = bundle.Build(context.Background(), bundle.Options{
		Dir:      dir,
		Entry:    "migrations/toggle-v1-to-v2.ts",
		Kind:     bundle.Migration,
		Progress: func(n int) { loaded = n }, // never called concurrently
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("modules loaded:", loaded)
	// Output:
	// modules loaded: 2
}
