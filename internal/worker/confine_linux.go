package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// confine restricts the whole worker process, for good, before it reads any
// file: it may read files only inside workspace, and none under its .git
// (where a checkout keeps its token); list directories anywhere (esbuild
// looks for package.json and tsconfig.json up to /, by their names); write
// nothing; and open no TCP connection. It uses the best Landlock ABI the
// kernel has, and says which; a kernel without Landlock leaves the worker
// unconfined, and it says why. The other guards (the empty environment,
// openat2 below the workspace in bundle, the parent's bounds) hold either
// way.
//
// The rules grant reading each entry at the top of workspace but .git, in
// any case, and listing every directory. A symlink there grants nothing of
// its own: what it leads to is granted only if it is inside, by the rule
// of the entry it is in.
func confine(workspace string) (string, error) {
	abi, err := llsys.LandlockGetABIVersion()
	if err != nil {
		return fmt.Sprintf("not confined by Landlock (not available: %v)", err), nil
	}
	entries, err := os.ReadDir(workspace)
	if err != nil {
		return "", fmt.Errorf("worker: read the workspace %s: %w", workspace, err)
	}
	rules := []landlock.Rule{landlock.PathAccess(llsys.AccessFSReadDir, "/")}
	for _, e := range entries {
		path := filepath.Join(workspace, e.Name())
		switch {
		case strings.EqualFold(e.Name(), ".git"), e.Type()&os.ModeSymlink != 0:
		case e.IsDir():
			rules = append(rules, landlock.RODirs(path))
		default:
			rules = append(rules, landlock.ROFiles(path))
		}
	}
	if err := landlock.V7.BestEffort().Restrict(rules...); err != nil {
		return "", fmt.Errorf("worker: confine to %s with Landlock: %w", workspace, err)
	}
	return fmt.Sprintf("Landlock ABI %d", min(abi, 7)), nil
}
