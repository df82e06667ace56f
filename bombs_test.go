//go:build !noemulator

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sbdeploy/internal/testkit/procrun"
)

// TestBombsEndInExit1 runs the program on code that nests too deeply or
// allocates without bound, in bundling and in validation: each run ends in
// exit code 1 within 10 s, with an annotation at the file and a summary
// that say why, and the whole process tree (the program and its worker)
// stays under 300 MB.
func TestBombsEndInExit1(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, code string
		validate   bool
		want       string
	}{
		{"nesting, evaluated", `Function("!".repeat(4e6) + "1");` + "\nexport const upgradeState = (s) => s, upgradeContext = (o, n, c) => c;\n", true,
			"nests too deeply"},
		{"nesting, parsed", strings.Repeat("!", 4<<20) + "1;\nexport const upgradeState = (s) => s, upgradeContext = (o, n, c) => c;\n", false,
			"nests too deeply"},
		// Stopped by the memory limit, or on a slow machine by the
		// evaluation's time limit first: both within the bounds.
		{"one large allocation", "new Array(2**32-1).fill(1);\nexport const upgradeState = (s) => s, upgradeContext = (o, n, c) => c;\n", true,
			"used more than|did not finish within"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProgram(t)
			if err := os.WriteFile(filepath.Join(p.workspace, "app", "bomb.js"), []byte(tt.code), 0o644); err != nil {
				t.Fatal(err)
			}
			summary := filepath.Join(t.TempDir(), "summary")
			p.env["GITHUB_STEP_SUMMARY"] = summary
			p.env["INPUT_FILE"] = "bomb.js"
			p.env["INPUT_VALIDATE"] = strconv.FormatBool(tt.validate)
			cmd := p.command()
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			began := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			peak := procrun.TreePeak(cmd.Process.Pid)
			err := cmd.Wait()
			took := time.Since(began)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("err = %v, want exit code 1\n%s", err, out.String())
			}
			if took > 10*time.Second {
				t.Errorf("took %s, want at most 10 s", took)
			}
			mb := int(peak()) >> 10
			t.Logf("exit 1 after %s; the process tree peaked at %d MB", took.Round(time.Millisecond), mb)
			if mb > 300 {
				t.Errorf("the process tree peaked at %d MB, want at most 300", mb)
			}
			why := regexp.MustCompile(tt.want)
			if want := "::error col=1,file=app/bomb.js,line=1::"; !strings.Contains(out.String(), want) || !why.MatchString(out.String()) {
				t.Errorf("log lacks %q with %q:\n%.3000s", want, tt.want, out.String())
			}
			if s := readFile(t, summary); !strings.Contains(s, "Deploy failed") || !why.MatchString(s) {
				t.Errorf("summary:\n%s", s)
			}
			if n := len(p.em.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}
