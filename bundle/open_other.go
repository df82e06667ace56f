//go:build !unix

package bundle

// openFlags are none where there are no FIFOs to wait on; the path has its
// symlinks evaluated before it is opened.
const openFlags = 0

// dirFlags are none here, as openFlags.
const dirFlags = 0
