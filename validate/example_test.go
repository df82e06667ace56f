package validate_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/evanw/esbuild/pkg/api"

	"sbdeploy/bundle"
	"sbdeploy/validate"
)

// ExampleCheck builds the evaluation variant of an entry point whose
// machine has a transition to a state that does not exist, and checks it.
// The esbuild options are the upload's with the changes the package
// documentation lists (minify, keepNames, legal comments and drop are left
// out here for brevity).
func ExampleCheck() {
	dir, _ := filepath.Abs(filepath.Join("..", "testdata", "validate"))
	supported := map[string]bool{}
	for _, feature := range validate.Unsupported() {
		supported[feature] = false
	}
	res := api.Build(api.BuildOptions{
		EntryPoints:    []string{filepath.Join(dir, "missing-state.ts")},
		AbsWorkingDir:  dir,
		Outfile:        validate.Outfile,
		Bundle:         true,
		Platform:       api.PlatformBrowser,
		Format:         api.FormatIIFE,
		GlobalName:     validate.GlobalName,
		Target:         api.ES2022, // validate.Target
		Supported:      supported,
		Sourcemap:      api.SourceMapInline,
		SourcesContent: api.SourcesContentExclude,
		Define:         map[string]string{"process.env.NODE_ENV": `"production"`},
	})
	if len(res.Errors) > 0 {
		fmt.Println(res.Errors[0].Text)
		return
	}

	err := validate.Check(context.Background(), res.OutputFiles[0].Contents, bundle.MachineVersion, validate.Options{})
	var e *validate.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason)
		fmt.Println(err)
	}
	// Output:
	// BadDefinition
	// machine.definition failed: Error: Invalid transition definition for state node 'toggle.off': Child state 'nope' does not exist on 'toggle'; check the states that transitions, initial states and history states name
}
