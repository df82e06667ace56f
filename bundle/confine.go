package bundle

import (
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
	"unsafe"

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

// A confiner enforces, for one build, the workspace rule: every file that
// esbuild reads must be, after symlinks, a regular file of at most
// maxFileBytes inside the workspace. A pull request or a compromised
// dependency could otherwise bundle the runner's secrets ("/proc/self/environ")
// into deployed code, or stall the run on a FIFO or /dev/zero.
//
// Its plugin (plugin.go) sees every import and reads every module itself;
// configfiles.go covers the files that esbuild's resolver reads by name,
// which no plugin sees. A build that writes a source map (the check build)
// would also read the map each module names: the plugin hides those names
// from esbuild instead (neutralMaps). Yarn PnP manifests, which send
// resolution to directories no import names, are refused. Its methods run on esbuild's goroutines, so the
// caches are guarded by mu.
//
// What it cannot check before esbuild reads, because esbuild reads it
// without asking plugins, and the resolver offers no hook:
//
//   - package.json, tsconfig.json and jsconfig.json in a directory that no
//     import names and no checked package.json or tsconfig.json points to:
//     one that esbuild reaches only through a glob import
//     (import(`./dir/${x}.js`), which it expands itself), an "imports" map,
//     a "browser" map to another package, or an "exports" pattern whose "*"
//     spans directories. onLoad checks those directories before it reads any
//     module in them, so the build still fails and nothing of such a file
//     reaches the bundle, and esbuild's messages placed in a file the
//     confiner did not check are hidden (screen), as they may quote it; but
//     a FIFO there blocks esbuild until ctx ends (Build returns then), and
//     /dev/zero there is read until memory runs out.
//   - The same files, and the modules that esbuild reads itself (those a
//     "browser" map may disable, and paths that are not there), are read by
//     path after they are checked, so a concurrent process that swaps them
//     in between is not stopped. Every other module is checked as opened.
//   - Directory listings: esbuild lists the directories it looks in, and
//     those above them up to /. Names only, never contents.
type confiner struct {
	ctx  context.Context
	root string // the workspace, symlinks evaluated
	dir  string // Options.Dir, symlinks evaluated; messages are relative to it
	// bundlesPlatform is set for a build that bundles xstate from
	// node_modules (the evaluation variant), so its imports are checked too.
	bundlesPlatform bool
	// readsSourceMaps is set for a build that writes a source map, for which
	// esbuild reads the maps that modules name (plugin.go's checkSourceMaps).
	readsSourceMaps bool
	// progress counts the modules the plugin loads, for Options.Progress;
	// nil counts nothing.
	progress *progress

	workDir   string       // Options.Dir as given: esbuild's messages are relative to it
	maxBytes  int64        // the most the build may read in all
	bytesRead atomic.Int64 // bytes read so far

	mu               sync.Mutex
	listings         map[string]map[string]fs.FileMode // directory -> the type of each entry
	realDirs         map[string]string                 // directory -> its path with symlinks evaluated
	dirs             map[string]*dirFacts              // directory -> its files esbuild reads by name, checked
	tsconfigs        map[string]*tsconfig              // tsconfig.json, by real path -> what matters of it
	chains           map[string]error                  // directory -> the check of it and the directories above it
	imports          map[string]error                  // resolve directory + "\x00" + import -> its check
	disabled         map[string]bool                   // paths a "browser" map may set to false
	disabledPackages map[string]bool                   // packages a "browser" map may set to false
	checked          map[string]bool                   // real paths of the files checked as they were opened
}

// newConfiner returns the confiner for a build of o, with the workspace and
// Dir resolved to the real paths that esbuild reports.
func newConfiner(ctx context.Context, o Options) (*confiner, error) {
	root := o.Root
	if root == "" {
		root = o.Dir
	}
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
		ctx: ctx, root: realRoot, dir: dir, workDir: o.Dir, checked: map[string]bool{}, maxBytes: buildBytesPerRawByte * int64(o.Limits.orService().Raw),
		listings: map[string]map[string]fs.FileMode{}, realDirs: map[string]string{}, dirs: map[string]*dirFacts{}, tsconfigs: map[string]*tsconfig{}, chains: map[string]error{},
		imports: map[string]error{}, disabled: map[string]bool{}, disabledPackages: map[string]bool{},
	}
	if !c.inside(dir) {
		return nil, fmt.Errorf("bundle: Dir %s is outside the workspace %s", o.Dir, root)
	}
	return c, nil
}

// inside reports whether the clean absolute path p is in the workspace. All
// paths here are clean (from filepath.Join, Dir, Clean, EvalSymlinks, or
// esbuild), so a prefix test is exact, and cheaper than filepath.Rel.
func (c *confiner) inside(p string) bool {
	root := strings.TrimSuffix(c.root, string(filepath.Separator))
	return p == c.root || strings.HasPrefix(p, root) && len(p) > len(root) && p[len(root)] == filepath.Separator
}

// inGit reports whether the path p, in the workspace, is in a directory
// named .git: the repository's own files, whose config holds the token that
// a checkout keeps (actions/checkout does unless persist-credentials is
// false). No module needs them, and the bundle may not read them.
func (c *confiner) inGit(p string) bool {
	rel := strings.TrimPrefix(p, strings.TrimSuffix(c.root, string(filepath.Separator)))
	return strings.Contains(filepath.ToSlash(rel)+"/", "/.git/")
}

// gitViolation is the violation of the path what, which is in .git.
func gitViolation(what string) error {
	return &violation{what: what, why: "is in a .git directory, which holds the repository's credentials: " +
		"the bundle may not read it; import a copy kept outside .git"}
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

// noteChecked records that the file at real was checked as opened.
func (c *confiner) noteChecked(real string) {
	c.mu.Lock()
	c.checked[real] = true
	c.mu.Unlock()
}

// screen hides the text of esbuild's messages that are placed in a file
// the confiner did not check as it was opened: one that esbuild reached by
// a way no plugin sees, and that may be outside the workspace (a symlink,
// say), whose content esbuild quotes ("Unexpected \"...\" in JSON"). The
// plugin's own messages, and those placed nowhere, are kept.
func (c *confiner) screen(msgs []api.Message) []api.Message {
	for i, m := range msgs {
		l := m.Location
		if l == nil || l.File == "" || m.PluginName != "" || l.Namespace != "" && l.Namespace != "file" {
			continue
		}
		p := l.File
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.workDir, p)
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			real = filepath.Clean(p)
		}
		c.mu.Lock()
		ok := c.checked[real]
		c.mu.Unlock()
		if !ok {
			msgs[i] = api.Message{ID: m.ID, Location: &api.Location{File: l.File, Namespace: l.Namespace},
				Text: "esbuild reports a problem in this file, which it reached by a way the workspace rule does not check, " +
					"so what it says is not shown: check where the imports and package.json files around it lead"}
		}
	}
	return msgs
}

// show names p for a person: relative to Dir if it is in the workspace, as
// the messages of esbuild are, else absolute.
func (c *confiner) show(p string) string {
	if c.inside(p) {
		if rel, err := filepath.Rel(c.dir, p); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return p
}

// A violation is a file the build may not read. Its text says which and
// why; esbuild places it at the import that led there.
type violation struct {
	what string // the path as the person wrote or knows it
	why  string
	file string // the file at fault if it is a file in the workspace, for the message's location
}

func (v *violation) Error() string { return fmt.Sprintf("%q %s", v.what, v.why) }

// outside is the violation of the path what, which is target and leads,
// after symlinks, to real outside the workspace.
func (c *confiner) outside(what, target, real string) error {
	why := fmt.Sprintf("is outside the workspace (%s): the bundle may only read files inside it", c.root)
	if c.inside(target) {
		why = fmt.Sprintf("leads to %s, outside the workspace (%s): the bundle may only read files inside it", real, c.root)
		return &violation{what: what, why: why, file: target}
	}
	return &violation{what: what, why: why}
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
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "an irregular file"
}

// read returns the contents of the file what, at real (a path with its
// symlinks evaluated), checked as opened.
func (c *confiner) read(what, real string) (string, error) {
	f, fi, err := open(real)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	if why := irregular(fi); why != "" {
		return "", &violation{what: what, why: why}
	}
	data, err := readAll(f, fi)
	if err != nil {
		return "", explain(what, err)
	}
	return data, c.count(what, len(data))
}

// open opens the file at real and returns what it is. The checks are made
// on the opened file, not on the path: the open neither follows a symlink
// put there since (ELOOP) nor waits for a FIFO's writer (openFlags).
func open(real string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(real, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// readAll reads the regular file f, of fi's size, and stops past the cap
// even if the file grows; the violation it then returns has no name yet.
//
// It reads into a buffer one byte larger than the file, so that the read
// that finds the end needs no more room, and returns that buffer as the
// string, as strings.Builder does, rather than a copy: esbuild keeps every
// module's text until the build ends, and a copy of each would cost as much
// again in memory and time. The buffer
// is written only here.
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
			return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
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

// realDir returns the directory d with its symlinks evaluated. Where d does
// not exist, the rest of it is joined to its nearest existing parent's.
func (c *confiner) realDir(d string) string {
	c.mu.Lock()
	r, ok := c.realDirs[d]
	c.mu.Unlock()
	if ok {
		return r
	}
	r, err := filepath.EvalSymlinks(d)
	if err != nil {
		if parent := filepath.Dir(d); parent != d {
			r = filepath.Join(c.realDir(parent), filepath.Base(d))
		} else {
			r = d
		}
	}
	c.mu.Lock()
	c.realDirs[d] = r
	c.mu.Unlock()
	return r
}

// realPath returns the clean absolute path p with its symlinks evaluated as
// far as it exists, and the type of what is there; ok is false if nothing
// is. It looks p up in its directory's listing, read once per build, so that
// most imports cost no system call.
func (c *confiner) realPath(p string) (real string, mode fs.FileMode, ok bool) {
	dir, base := c.realDir(filepath.Dir(p)), filepath.Base(p)
	real = filepath.Join(dir, base)
	if mode, ok = c.lookup(dir, base); !ok || mode&fs.ModeSymlink == 0 {
		return real, mode, ok
	}
	target, err := filepath.EvalSymlinks(real)
	if err != nil {
		return real, 0, false // a symlink that leads nowhere, which esbuild skips
	}
	fi, err := os.Lstat(target)
	if err != nil {
		return target, 0, false
	}
	return target, fi.Mode().Type(), true
}

// lookup returns the type of the entry name in the directory dir, a real
// path; ok is false if there is none. An unreadable directory has no
// entries, as it has none for esbuild.
func (c *confiner) lookup(dir, name string) (mode fs.FileMode, ok bool) {
	c.mu.Lock()
	entries, listed := c.listings[dir]
	c.mu.Unlock()
	if !listed {
		entries = map[string]fs.FileMode{}
		if f, err := os.OpenFile(dir, os.O_RDONLY|dirFlags, 0); err == nil {
			list, _ := f.ReadDir(-1)
			f.Close()
			for _, e := range list {
				entries[e.Name()] = e.Type()
			}
		}
		c.mu.Lock()
		c.listings[dir] = entries
		c.mu.Unlock()
	}
	mode, ok = entries[name]
	return mode, ok
}

// missing is the error for the file what, which could not be opened: none
// if it does not exist (esbuild then reports it, or makes it empty if a
// "browser" map disables it), a violation if its path goes through a file,
// as a path into a Yarn PnP zip archive does.
func missing(what string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case errors.Is(err, syscall.ENOTDIR):
		return &violation{what: what, why: "is inside a file, not a directory (a Yarn PnP zip archive?): " +
			"the bundle may only read plain files; install packages into node_modules (Yarn: nodeLinker: node-modules)"}
	}
	return err
}

// insideNodeModules reports whether the path p has a node_modules element.
func insideNodeModules(p string) bool {
	return strings.Contains(filepath.ToSlash(p)+"/", "/node_modules/")
}
