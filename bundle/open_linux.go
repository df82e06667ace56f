package bundle

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// open opens the file rel beneath the workspace's handle with openat2,
// which fails, rather than follow, where a directory on the path has become
// a symlink (ELOOP) or the path leaves the workspace (EXDEV): the path
// esbuild found has its symlinks evaluated, so the path opened may have
// none. It returns the path it opened, relative to the workspace.
//
// A kernel without openat2 (before 5.6, or a seccomp filter that refuses
// it) gets openPath, by path, with the race that openat2 closes.
func (c *confiner) open(rel string) (*os.File, string, error) {
	if c.noOpenat2.Load() {
		return c.openPath(rel)
	}
	conn, err := c.rootDir.SyscallConn()
	if err != nil {
		return nil, rel, err
	}
	fd := -1
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	// Control keeps the handle open while it runs, even if the build has
	// returned and closed it.
	if cerr := conn.Control(func(root uintptr) { fd, err = unix.Openat2(int(root), rel, &how) }); cerr != nil {
		return nil, rel, cerr
	}
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		c.noOpenat2.Store(true)
		return c.openPath(rel)
	}
	if err != nil {
		return nil, rel, &os.PathError{Op: "openat2", Path: rel, Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(c.root, rel)), rel, nil
}
