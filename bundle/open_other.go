//go:build !unix

package bundle

import "os"

// pathFlags are none where there are no FIFOs to wait on; the path has its
// symlinks evaluated before it is opened.
const pathFlags = 0

// dirFlags are none here, as pathFlags.
const dirFlags = 0

// open opens the file rel by its path: there is no openat2 here.
func (c *confiner) open(rel string) (*os.File, string, error) { return c.openPath(rel) }
