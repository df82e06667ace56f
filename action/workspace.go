package action

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sbdeploy/bundle"
)

var entryExtensions = []string{".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs"}

// paths are where a code deploy reads from, every one absolute with
// symlinks resolved, and inside the workspace.
type paths struct {
	workspace      string
	dir            string // the working directory
	entry          string // file, relative to dir, as given
	migrationEntry string // release: migration-file, relative to dir, as given
	fromMachine    string // from-machine-file, relative to dir, as given; "" if not
	toMachine      string // to-machine-file, relative to dir, as given; "" if not
}

// findWorkspace returns the workspace, with symlinks resolved:
// GITHUB_WORKSPACE; without it, the root of the git repository that holds
// the working directory, or the working directory itself outside one. note
// says where it came from when that is not GITHUB_WORKSPACE, and why when
// GITHUB_WORKSPACE names a directory that does not exist here (act can pass
// the host's path, and the container's working directory is then the
// workspace).
func findWorkspace(getenv func(string) string, workdir string) (ws, note string, err error) {
	ws = getenv("GITHUB_WORKSPACE")
	if ws == "" {
		ws, note = workdir, fmt.Sprintf("workspace %s: the working directory, which is in no git repository (set GITHUB_WORKSPACE to choose another)", workdir)
		if top := gitRoot(workdir); top != "" {
			ws, note = top, fmt.Sprintf("workspace %s: the root of the git repository that holds the working directory (set GITHUB_WORKSPACE to choose another)", top)
		}
	} else if _, err := os.Stat(ws); err != nil {
		note = fmt.Sprintf("GITHUB_WORKSPACE %s does not exist here; using the working directory %s as the workspace", ws, workdir)
		ws = workdir
	}
	real, err := filepath.EvalSymlinks(ws)
	if err != nil {
		return "", "", fmt.Errorf("workspace %s: %w", ws, err)
	}
	// The bundle may read only files inside the workspace: the whole file
	// system cannot be one.
	if filepath.Dir(real) == real {
		return "", "", fmt.Errorf("the workspace is %s, the root of the file system: run in the repository's checkout (set GITHUB_WORKSPACE, or the working directory)", real)
	}
	return real, note, nil
}

// loadPaths finds the working directory and the entry points of c's mode
// and checks that all are inside the workspace, after following symlinks.
func loadPaths(src source, c *config, workspace func() (string, error)) (paths, error) {
	ws, err := workspace()
	if err != nil {
		return paths{}, err
	}
	p := paths{workspace: ws}
	base := cmp.Or(src.base, ws)
	workdir := src.get("working-directory")
	if !filepath.IsLocal(workdir) {
		return p, fmt.Errorf("%s: %s must be a relative path inside the workspace, without ..", c.names.input("working-directory"), quote(workdir))
	}
	if p.dir, err = filepath.EvalSymlinks(filepath.Join(base, workdir)); err != nil {
		return p, fmt.Errorf("%s: %s does not exist in %s", c.names.input("working-directory"), quote(workdir), base)
	}
	if _, ok := bundle.Within(ws, p.dir); !ok {
		return p, fmt.Errorf("%s: %s leads outside the workspace (through a symlink to %s)", c.names.input("working-directory"), quote(workdir), p.dir)
	}
	what := "the migration"
	if c.deploysVersion() {
		what = "the machine version"
	}
	if p.entry, err = p.resolveEntry(c.names, "file", src.get("file"), what); err != nil {
		return p, err
	}
	migrationFile := src.get("migration-file")
	switch {
	case !slices.Contains(c.mode.inputs, "migration-file"):
	case c.from != "":
		p.migrationEntry, err = p.resolveEntry(c.names, "migration-file", migrationFile, "the migration from from-version")
	case migrationFile != "":
		err = fmt.Errorf("%s: a release deploys a migration only from from-version: set %s, or remove %s",
			c.names.input("migration-file"), c.names.input("from-version"), c.names.input("migration-file"))
	}
	if err != nil {
		return p, err
	}
	for _, m := range []struct {
		input, what string
		to          *string
	}{
		{"from-machine-file", "the machine that from-version is", &p.fromMachine},
		{"to-machine-file", "the machine that to-version is", &p.toMachine},
	} {
		if file := src.get(m.input); file != "" && slices.Contains(c.mode.inputs, m.input) {
			if *m.to, err = p.resolveEntry(c.names, m.input, file, m.what); err != nil {
				return p, fmt.Errorf("%w (its source typically comes from a second actions/checkout of the commit that deployed it, with path:)", err)
			}
		}
	}
	return p, nil
}

// resolveEntry checks an entry point input, relative to the working
// directory, and returns it as given.
func (p paths) resolveEntry(names namer, input, file, what string) (string, error) {
	name := names.input(input)
	switch {
	case file == "":
		return "", fmt.Errorf("%s: required: the entry point of %s, relative to working-directory", name, what)
	case !filepath.IsLocal(file):
		return "", fmt.Errorf("%s: %s must be a relative path inside working-directory, without ..", name, quote(file))
	case !slices.Contains(entryExtensions, filepath.Ext(file)):
		return "", fmt.Errorf("%s: %s must end in one of %s", name, quote(file), strings.Join(entryExtensions, ", "))
	}
	real, err := filepath.EvalSymlinks(filepath.Join(p.dir, file))
	if err != nil {
		return "", fmt.Errorf("%s: %s not found in %s", name, quote(file), p.dir)
	}
	if _, ok := bundle.Within(p.workspace, real); !ok {
		return "", fmt.Errorf("%s: %s leads outside the workspace (through a symlink to %s)", name, quote(file), real)
	}
	if fi, err := os.Stat(real); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: %s is not a regular file", name, quote(file))
	}
	return file, nil
}

// relative makes a path relative to the working directory relative to the
// workspace, as GitHub annotations need.
func (p paths) relative(file string) string {
	if rel, err := filepath.Rel(p.workspace, filepath.Join(p.dir, file)); err == nil {
		return filepath.ToSlash(rel)
	}
	return file
}

// gitRoot is the nearest directory at or above dir that holds a .git (a
// repository's, or a worktree's or submodule's file), or "" if none does.
func gitRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// git returns what `git rev-parse --verify <arg>` prints in dir, or "" when
// git is missing or dir is in no repository, or it has no such revision. git gets no secret: only PATH and HOME from the environment.
func git(getenv func(string) string, dir, arg string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--verify", "--quiet", arg)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + getenv("PATH"), "HOME=" + getenv("HOME")}
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
