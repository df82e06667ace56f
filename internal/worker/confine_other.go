//go:build !linux

package worker

import "runtime"

// confine cannot restrict the worker outside Linux: it holds no secret and
// is bounded by its parent, but may read any file the user can.
func confine(string) (string, error) {
	return "not confined by Landlock (not available on " + runtime.GOOS + ")", nil
}
