package bundle

import (
	"regexp"
	"testing"
)

// TestEveryPathMatchesAll checks that the plugin's filter matches every
// path esbuild may hand it, as ".*" did: a path it did not match would not
// be checked.
func TestEveryPathMatchesAll(t *testing.T) {
	t.Parallel()
	filter := regexp.MustCompile(everyPath)
	for _, p := range []string{
		"", "/", "./a.js", "../b", "lodash-es", "@scope/pkg/sub", "/abs/path/with space/x.ts",
		"line\nbreak", "\x00", "café/😀.js", "C:\\windows\\path", "npm:xstate", "data:text/javascript,1",
	} {
		if !filter.MatchString(p) {
			t.Errorf("the filter %q does not match %q", everyPath, p)
		}
	}
}
