package bundle

import (
	"context"
	"fmt"

	"github.com/evanw/esbuild/pkg/api"
)

// Check says how to build the evaluation variant of a bundle: a script that
// an engine runs to check the code before it is deployed (package validate
// describes it). It is the same entry point with the same options, but:
// an IIFE that hands the module's exports to GlobalName; xstate bundled in
// from the app's node_modules rather than left to the platform; the syntax
// features named in Unsupported (keys of esbuild's Supported option) lowered;
// and an inline sourcemap, naming the script Outfile, so that an error's
// place maps back to the source.
type Check struct {
	GlobalName  string
	Outfile     string
	Unsupported []string
}

// BuildCheck builds the evaluation variant of o.Entry under the same
// workspace rule as Build. It checks no exports or sizes (Build does): what
// it builds is never uploaded. A *BuildError with a Message whose
// Unresolved path is an XstateImport means xstate is not installed.
func BuildCheck(ctx context.Context, o Options, v Check) ([]byte, error) {
	if v.GlobalName == "" || v.Outfile == "" {
		return nil, fmt.Errorf("bundle: a check needs a GlobalName and an Outfile")
	}
	res, err := buildOne(ctx, o, func(opts *api.BuildOptions) {
		opts.Format = api.FormatIIFE
		opts.GlobalName = v.GlobalName
		opts.Alias, opts.External = nil, nil
		opts.Outfile = v.Outfile
		opts.Sourcemap = api.SourceMapInline
		opts.SourcesContent = api.SourcesContentExclude
		opts.Supported = map[string]bool{}
		for _, f := range v.Unsupported {
			opts.Supported[f] = false
		}
	})
	if err != nil {
		return nil, err
	}
	return res.OutputFiles[0].Contents, nil
}
