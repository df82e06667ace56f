package bundle

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBuildFollowsNoSwappedDirectory is the race of finding 1: while Build
// runs, a concurrent process swaps d/, the directory of an imported text
// file, with swap, a symlink to /proc/self, back and forth
// (renameat2 RENAME_EXCHANGE). A build may succeed, with d/environ, or be
// refused, but the bundle and the error must never hold the test process's
// environment, which /proc/self/environ does. Opening d/environ by its path
// instead (openPath, as before openat2) leaked it in 4 to 15 builds of 150.
func TestBuildFollowsNoSwappedDirectory(t *testing.T) {
	t.Parallel()
	const builds, envMarker = 150, "PATH="
	if !strings.Contains(strings.Join(os.Environ(), "\x00"), envMarker) {
		t.Skip("no PATH in the environment to look for")
	}
	ws := t.TempDir()
	d, swap := filepath.Join(ws, "d"), filepath.Join(ws, "swap")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{
		"d/environ": "HARMLESS-TEXT",
		"entry.ts": "import env from \"./d/environ\" with { type: \"text\" };\n" +
			"export function upgradeState(s: unknown) { return { s, env }; }\n" +
			"export function upgradeContext(c: unknown) { return c; }\n",
	} {
		if err := os.WriteFile(filepath.Join(ws, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/proc/self", swap); err != nil {
		t.Fatal(err)
	}

	stop, swaps := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		defer func() { swaps <- n }()
		for ; n < 100_000_000; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := unix.Renameat2(unix.AT_FDCWD, d, unix.AT_FDCWD, swap, unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("renameat2: %v", err)
				return
			}
		}
	}()
	var built, refused, leaked int
	for range builds {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		b, err := Build(ctx, Options{Dir: ws, Entry: "entry.ts", Kind: Migration})
		cancel()
		var out string
		var be *BuildError
		switch {
		case err == nil:
			built++
			out = string(b.Code)
		case errors.As(err, &be):
			refused++
			out = err.Error()
		default:
			t.Fatalf("Build: %v", err)
		}
		if strings.Contains(out, envMarker) {
			leaked++
		}
	}
	close(stop)
	t.Logf("%d builds while d/ and a symlink to /proc/self swapped %d times: %d built, %d refused, %d leaked the environment",
		builds, <-swaps, built, refused, leaked)
	if leaked > 0 {
		t.Errorf("%d of %d builds leaked the environment", leaked, builds)
	}
}

// TestLoadRefusesAPathThatChanged loads a module whose directory became a
// symlink after esbuild found it (as the race above does at random): the
// open refuses it rather than follow it into .git or out of the workspace.
func TestLoadRefusesAPathThatChanged(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	gitCheckout(t, tr)
	tests := []struct{ dir, file, target string }{
		{"d", "config", ".git"},
		{"e", "secret.js", tr.outside},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			t.Parallel()
			tr.file(t, tt.dir+"/"+tt.file, "harmless")
			c, err := newConfiner(context.Background(), Options{Dir: tr.ws}, false)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			dir := filepath.Join(tr.ws, tt.dir)
			if err := os.Rename(dir, dir+".old"); err != nil {
				t.Fatal(err)
			}
			tr.link(t, tt.dir, tt.target)
			contents, err := c.load(filepath.Join(dir, tt.file))
			var v *violation
			if !errors.As(err, &v) || strings.Contains(err.Error(), tr.marker) {
				t.Fatalf("load = %v, %v; want a violation, without the secret", contents != nil, err)
			}
			// A kernel without openat2 refuses it too, by evaluating the
			// symlink, but only when no one swaps it back in between.
			if !c.noOpenat2.Load() && !strings.Contains(err.Error(), "changed while the build ran") {
				t.Errorf("load: %v, want the violation that %s changed", err, tt.dir)
			}
		})
	}
}
