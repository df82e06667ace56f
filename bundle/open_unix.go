//go:build unix

package bundle

import "syscall"

// pathFlags make opening a file by its path safe (confiner.openPath):
// O_NOFOLLOW refuses a symlink put in place of the checked path, and
// O_NONBLOCK keeps the open of a FIFO from waiting for a writer, so that
// the file can be refused as not regular.
const pathFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// dirFlags open only a directory, without waiting: a FIFO or device where
// a directory was expected is not opened for reading at all.
const dirFlags = syscall.O_DIRECTORY | syscall.O_NONBLOCK
