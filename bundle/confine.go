package bundle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/evanw/esbuild/pkg/api"
)

// maxFileBytes is the most that one file the build reads may hold. It is the
// service's raw limit: no bundle over it can be uploaded anyway, and the cap
// keeps a huge or endless file from being read into memory.
const maxFileBytes = MaxRawBytes

// buildBytesPerRawByte bounds what one build may read in all: ten times the
// largest bundle the service takes (Limits.Raw), 100 MB, far more than any
// real app reads; without a cap, thousands of files each under maxFileBytes
// could fill the memory.
const buildBytesPerRawByte = 10

// A confiner holds one build to the workspace rule. Its plugin (plugin.go)
// reads every module that esbuild loads, so that nothing of a module reaches
// the bundle but through these checks, made on the file as opened:
//
//   - it is opened beneath the workspace through one handle on it, without
//     following a symlink or leaving it (openat2 on Linux: open_linux.go),
//     so that a directory swapped for a symlink after esbuild found the
//     module is refused rather than followed; elsewhere it is opened by
//     path, which such a swap can beat (openPath);
//   - it is a regular file (not a FIFO, which would stall the build, nor a
//     device) of at most maxFileBytes, and the build reads at most maxBytes;
//   - it is not the workspace's .git or in it, by identity, nor in any
//     directory whose name is .git in any case: .git/config holds the token
//     that actions/checkout keeps, and the worker may read the whole
//     workspace, .git included.
//
// esbuild also reads files without asking plugins: package.json,
// tsconfig.json and what their "extends" names, Yarn PnP manifests, and the
// directory listings it resolves with, up to /. Those are the worker's to
// confine (internal/worker): Landlock lets it read only the workspace, and
// its parent kills it at the deadline (a FIFO in the workspace named
// package.json blocks esbuild until then) and past a memory limit (a huge
// file). Where there is no Landlock (other systems, older kernels) esbuild
// may read such files anywhere. What it takes from them is where imports
// lead (every module is still checked here) and a few compiler settings
// (jsxFactory, say) that only a file shaped as a tsconfig.json gives; its
// messages placed in a file that no module check read are hidden (screen),
// as they may quote it. Two more reads are esbuild's own: the source maps
// that modules name, which the check build hides from it, and modules that
// a "browser" map may disable (plugin.go says why, and what that leaves).
//
// Its methods run on esbuild's goroutines, so its maps are guarded.
type confiner struct {
	ctx     context.Context
	root    string      // the workspace, symlinks evaluated
	rootDir *os.File    // a handle on root, which modules are opened beneath
	git     fs.FileInfo // the workspace's .git; nil if there is none
	dir     string      // Options.Dir, symlinks evaluated
	workDir string      // Options.Dir as given
	// readsSourceMaps is set for a build that writes a source map, for which
	// esbuild reads the maps that modules name (plugin.go's neutralMaps).
	readsSourceMaps bool
	// progress counts the modules the plugin loads, for Options.Progress;
	// nil counts nothing.
	progress *progress

	maxBytes  int64        // the most the build may read in all
	bytesRead atomic.Int64 // bytes read so far
	noOpenat2 atomic.Bool  // the kernel has no openat2 (open_linux.go)

	mu      sync.Mutex
	checked map[string]bool // modules read through the checks, by esbuild's path
	gitDirs map[string]bool // directories, relative to root, that are the workspace's .git

	browserMu        sync.Mutex      // held while the "browser" maps are read (plugin.go)
	browsed          map[string]bool // directories whose package.json's "browser" map is noted
	disabled         map[string]bool // paths a "browser" map may set to false
	disabledPackages map[string]bool // packages a "browser" map may set to false
}

// newConfiner returns the confiner for a build of o, which reads source maps
// if readsSourceMaps.
func newConfiner(ctx context.Context, o Options, readsSourceMaps bool) (*confiner, error) {
	root := cmp.Or(o.Root, o.Dir)
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("bundle: Root %q is not absolute", root)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("bundle: workspace: %w", err)
	}
	dir, err := filepath.EvalSymlinks(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("bundle: Dir: %w", err)
	}
	c := &confiner{
		ctx: ctx, root: realRoot, dir: dir, workDir: o.Dir, readsSourceMaps: readsSourceMaps,
		maxBytes: buildBytesPerRawByte * int64(o.Limits.OrService().Raw),
		checked:  map[string]bool{}, gitDirs: map[string]bool{},
		browsed: map[string]bool{}, disabled: map[string]bool{}, disabledPackages: map[string]bool{},
	}
	if _, ok := c.within(dir); !ok {
		return nil, fmt.Errorf("bundle: Dir %s is outside the workspace %s", o.Dir, root)
	}
	if c.rootDir, err = os.OpenFile(realRoot, os.O_RDONLY|dirFlags, 0); err != nil {
		return nil, fmt.Errorf("bundle: workspace: %w", err)
	}
	c.git, _ = os.Stat(filepath.Join(realRoot, ".git"))
	return c, nil
}

// close releases the workspace's handle. A module that esbuild loads after
// the build has returned (it is not waited for when ctx ends) is refused.
func (c *confiner) close() { c.rootDir.Close() }

// within returns the clean absolute path p relative to the workspace, if it
// is in it. All paths here are clean (from filepath.Join, Dir,
// EvalSymlinks, or esbuild), so a prefix test is exact.
func (c *confiner) within(p string) (rel string, ok bool) { return Within(c.root, p) }

// Within reports whether the clean absolute path p is root or below it, and
// p relative to root ("." for root itself). A sibling that shares root's
// name as a prefix (/ws2 for /ws) is not within it.
func Within(root, p string) (rel string, ok bool) {
	if p == root {
		return ".", true
	}
	return strings.CutPrefix(p, strings.TrimSuffix(root, string(filepath.Separator))+string(filepath.Separator))
}

// show names p for a person: relative to Dir if it is in the workspace, as
// esbuild's messages do, else absolute.
func (c *confiner) show(p string) string {
	if _, ok := c.within(p); ok {
		if rel, err := filepath.Rel(c.dir, p); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return p
}

// A violation is a file the build may not read. Its text says which and
// why; esbuild places it at the import that led there.
type violation struct {
	what string // the path as shown to a person
	why  string
}

func (v *violation) Error() string { return fmt.Sprintf("%q %s", v.what, v.why) }

// outside is the violation of the path p, outside the workspace.
func (c *confiner) outside(p string) error {
	return &violation{what: p, why: fmt.Sprintf("is outside the workspace (%s): the bundle may only read files inside it", c.root)}
}

// openModule opens the file at p, an absolute path as esbuild gives it
// (symlinks evaluated), and checks it as opened: beneath the workspace, a
// regular file under the cap, not in .git.
func (c *confiner) openModule(p string) (*os.File, fs.FileInfo, error) {
	rel, ok := c.within(p)
	if !ok {
		return nil, nil, c.outside(p)
	}
	f, rel, err := c.open(rel)
	what := c.show(filepath.Join(c.root, rel))
	var v *violation
	switch {
	case errors.As(err, &v):
		return nil, nil, err
	case errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.EXDEV), errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// esbuild found the file at p, with no symlink on the way.
		return nil, nil, &violation{what: what, why: "changed while the build ran (a directory on its path was moved, " +
			"or became a symlink): the bundle may only read files that stay inside the workspace"}
	case err != nil:
		return nil, nil, fmt.Errorf("read %s: %w", what, err)
	}
	fi, err := f.Stat()
	if err == nil {
		if why := irregular(fi); why != "" {
			err = &violation{what: what, why: why}
		} else if c.inGit(rel, fi) {
			err = &violation{what: what, why: "is in a .git directory, which holds the repository's credentials: " +
				"the bundle may not read it; import a copy kept outside .git"}
		}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// openPath opens the file rel by its path, where openat2 is not there: on
// other systems, and Linux before 5.6. Its symlinks are evaluated, and the
// result opened without following a symlink at its end; but a directory
// above it that a concurrent process swaps for a symlink in between is
// followed, even out of the workspace. On Linux, Landlock (5.13) still
// keeps the worker's reads in the workspace.
func (c *confiner) openPath(rel string) (*os.File, string, error) {
	real, err := filepath.EvalSymlinks(filepath.Join(c.root, rel))
	if err != nil {
		return nil, rel, err
	}
	if rel, ok := c.within(real); ok {
		f, err := os.OpenFile(real, os.O_RDONLY|pathFlags, 0)
		return f, rel, err
	}
	return nil, rel, c.outside(real)
}

// inGit reports whether the file rel, opened as fi, is the workspace's .git
// or in it, or in a directory whose name is .git in any case (a nested
// repository's). The workspace's .git is matched by identity, as a case-
// insensitive file system (macOS, Windows) also opens it as .GIT, .git. or
// GIT~1.
func (c *confiner) inGit(rel string, fi fs.FileInfo) bool {
	for _, name := range strings.Split(filepath.ToSlash(rel), "/") {
		if strings.EqualFold(strings.TrimRight(name, ". "), ".git") {
			return true
		}
	}
	if c.git == nil {
		return false
	}
	if os.SameFile(fi, c.git) {
		return true
	}
	for d := filepath.Dir(rel); d != "."; d = filepath.Dir(d) {
		if c.isGit(d) {
			return true
		}
	}
	return false
}

// isGit reports whether the directory d, relative to the workspace, is its
// .git; a directory that is gone since the module in it was opened counts
// as .git. The answer is kept for the build.
func (c *confiner) isGit(d string) bool {
	c.mu.Lock()
	is, ok := c.gitDirs[d]
	c.mu.Unlock()
	if ok {
		return is
	}
	fi, err := os.Lstat(filepath.Join(c.root, d))
	if err != nil {
		return true
	}
	is = os.SameFile(fi, c.git)
	c.mu.Lock()
	c.gitDirs[d] = is
	c.mu.Unlock()
	return is
}

// irregular says why fi is not a file the bundle may read: not a regular
// file, or over the cap; "" if it is one.
func irregular(fi fs.FileInfo) string {
	if !fi.Mode().IsRegular() {
		return fmt.Sprintf("is not a regular file (%s): the bundle may only read regular files", kindOf(fi.Mode()))
	}
	if fi.Size() > maxFileBytes {
		return fmt.Sprintf("is %d bytes: the bundle may only read files of up to %d bytes", fi.Size(), maxFileBytes)
	}
	return ""
}

// kindOf names the kind of file m is, for a message.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "an irregular file"
}

// count adds n bytes to what the build has read, and refuses the file what
// if that is over c.maxBytes.
func (c *confiner) count(what string, n int) error {
	if c.bytesRead.Add(int64(n)) > c.maxBytes {
		return &violation{what: what, why: fmt.Sprintf("takes what the build has read past %d bytes: "+
			"a bundle may read at most that much in all; import less, or import the parts of a package you use", c.maxBytes)}
	}
	return nil
}

// readAll reads the regular file f, of fi's size, and stops past the cap
// even if the file grows; the violation it then returns has no name yet.
// Its buffer has room for one byte more than the file, so that the read
// that finds the end needs no more.
func readAll(f *os.File, fi fs.FileInfo) (string, error) {
	buf := make([]byte, 0, min(max(fi.Size(), 0), maxFileBytes)+1)
	for {
		if len(buf) == cap(buf) { // the file grew
			buf = slices.Grow(buf, min(cap(buf), maxFileBytes+1-len(buf)))
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > maxFileBytes {
			return "", &violation{why: fmt.Sprintf("grew past %d bytes while it was read: "+
				"the bundle may only read files of up to %d bytes", maxFileBytes, maxFileBytes)}
		}
		if err == io.EOF {
			return string(buf), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// explain is the error err of reading the file what, with what named.
func explain(what string, err error) error {
	var v *violation
	if errors.As(err, &v) {
		v.what = what
		return v
	}
	return fmt.Errorf("read %s: %w", what, err)
}

// noteChecked records that esbuild's module at p was read through the checks.
func (c *confiner) noteChecked(p string) {
	c.mu.Lock()
	c.checked[p] = true
	c.mu.Unlock()
}

// screen hides the text of esbuild's messages that are placed in a file no
// module check read: one that esbuild read itself (a package.json, say, or a
// tsconfig.json that "extends" a file anywhere), whose content it may quote
// ("Unexpected \"...\" in JSON"). The plugin's own messages, and those placed
// nowhere, are kept.
func (c *confiner) screen(msgs []api.Message) []api.Message {
	for i, m := range msgs {
		l := m.Location
		if l == nil || l.File == "" || m.PluginName != "" || l.Namespace != "" && l.Namespace != "file" {
			continue
		}
		// esbuild names files relative to Dir with its symlinks evaluated.
		p, q := l.File, l.File
		if !filepath.IsAbs(p) {
			p, q = filepath.Join(c.dir, p), filepath.Join(c.workDir, p)
		}
		c.mu.Lock()
		ok := c.checked[p] || c.checked[q]
		c.mu.Unlock()
		if !ok {
			msgs[i] = api.Message{ID: m.ID, Location: &api.Location{File: l.File, Namespace: l.Namespace},
				Text: "esbuild reports a problem in this file, which it read itself rather than as a module, " +
					"so what it says is not shown: check where the imports, package.json and tsconfig.json files around it lead"}
		}
	}
	return msgs
}
