//go:build race

package bundle

// largeApp is how many modules keep esbuild busy far past a deadline of
// 100 ms (see TestBuildStopsWhenCtxEnds). The race detector makes bundling
// several times slower, so fewer do, and writing the files costs less
// (BENCHMARKS.md, The test suite, has the figures).
const largeApp = 1000
