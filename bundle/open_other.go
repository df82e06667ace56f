//go:build !unix

package bundle

// pathFlags are none where there are no FIFOs to wait on; the path has its
// symlinks evaluated before it is opened.
const pathFlags = 0

// dirFlags are none here, as pathFlags.
const dirFlags = 0
