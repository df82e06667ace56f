//go:build unix

package bundle

import "syscall"

// openFlags make opening a module safe: O_NOFOLLOW refuses a symlink put in
// place of the checked path, and O_NONBLOCK keeps the open of a FIFO from
// waiting for a writer, so that the file can be refused as not regular.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
