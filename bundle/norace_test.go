//go:build !race

package bundle

// largeApp is how many modules keep esbuild busy far past a deadline of
// 100 ms (see TestBuildStopsWhenCtxEnds): a Build that let esbuild finish,
// with a plugin that ignored the deadline, returned 2 s late here.
const largeApp = 5000
