//go:build !race

package bundle

// largeApp is how many modules keep esbuild busy far past a deadline of
// 100 ms (see TestBuildStopsWhenCtxEnds): long enough that a Build that let
// esbuild finish would miss the allowance by over a second (BENCHMARKS.md,
// The test suite, has the figures).
const largeApp = 5000
