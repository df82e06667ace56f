package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"

	"sbdeploy/deploy"
)

// FuzzLoadConfig feeds arbitrary inputs to the parser. Whatever it accepts
// must be safe to use; whatever it refuses must be refused with a message
// naming the input.
func FuzzLoadConfig(f *testing.F) {
	workspace := f.TempDir()
	if err := os.MkdirAll(filepath.Join(workspace, "app", "src"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(workspace, "app", "src", "m.ts"), []byte("export {}"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(workspace, "app", "etc")); err != nil {
		f.Fatal(err)
	}
	f.Add("migration", "toggle", "ver_1", "ver_2", "app", "src/m.ts", "true", "false", "5m", "https://api.statebacked.dev", "tok")
	f.Add("migration", "a b", "", "ver 2", "../x", "/etc/passwd", "maybe", "yes", "0", "http://10.0.0.1", "")
	f.Add("teardown", "toggle", "ver_1", "ver_2", "app", "etc/hosts.ts", "TRUE", "False", "1h", "http://127.0.0.1:1/", "t")
	f.Add("migration", "x", "v", "v", ".", "app/../app/src/m.ts", "false", "true", "1ns", "https://u:p@h", "t")
	f.Fuzz(func(t *testing.T, mode, machine, from, to, workdir, file, gz, dry, timeout, apiURL, token string) {
		e := env{
			"INPUT_MODE": mode, "INPUT_MACHINE": machine, "INPUT_FROM-VERSION": from, "INPUT_TO-VERSION": to,
			"INPUT_WORKING-DIRECTORY": workdir, "INPUT_FILE": file, "INPUT_GZIP": gz, "INPUT_DRY-RUN": dry,
			"INPUT_TIMEOUT": timeout, "INPUT_API-URL": apiURL, "INPUT_TOKEN": token, "GITHUB_WORKSPACE": workspace,
		}
		src := source{action: githubactions.New(githubactions.WithGetenv(e.get))}
		cfg, err := loadConfig(src, e.get, workspace)
		if err != nil {
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) {
				t.Fatalf("error is not a list of problems: %v", err)
			}
			for _, e := range joined.Unwrap() {
				if !strings.HasPrefix(e.Error(), "input ") {
					t.Errorf("problem does not name its input: %q", e)
				}
			}
			return
		}
		switch {
		case !deploy.ValidSlug(cfg.machine):
			t.Errorf("accepted machine %q", cfg.machine)
		case !validVersionID(cfg.from) || !validVersionID(cfg.to):
			t.Errorf("accepted versions %q, %q", cfg.from, cfg.to)
		case cfg.timeout <= 0:
			t.Errorf("accepted timeout %v", cfg.timeout)
		case !inside(cfg.workspace, cfg.dir):
			t.Errorf("accepted working directory %q outside %q", cfg.dir, cfg.workspace)
		case !slices.Contains(entryExtensions, filepath.Ext(cfg.entry)):
			t.Errorf("accepted entry %q", cfg.entry)
		case cfg.token == "" && !cfg.dryRun:
			t.Error("accepted an empty token")
		}
		real, err := filepath.EvalSymlinks(filepath.Join(cfg.dir, cfg.entry))
		if err != nil || !inside(cfg.workspace, real) {
			t.Errorf("accepted entry %q that resolves to %q (%v)", cfg.entry, real, err)
		}
		if _, err := deploy.ParseBaseURL(cfg.apiURL); err != nil {
			t.Errorf("accepted api-url %q: %v", cfg.apiURL, err)
		}
	})
}
