package action

import (
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
	f.Add("migration", "toggle", "ver_1", "ver_2", "app", "src/m.ts", "true", "false", "5m", "4", "https://api.statebacked.dev", "tok")
	f.Add("migration", "a b", "", "ver 2", "../x", "/etc/passwd", "maybe", "yes", "0", "0", "http://10.0.0.1", "")
	f.Add("teardown", "toggle", "ver_1", "ver_2", "app", "etc/hosts.ts", "TRUE", "False", "1h", "10", "http://127.0.0.1:1/", "t")
	f.Add("migration", "x", "v", "v", ".", "app/../app/src/m.ts", "false", "true", "1ns", "1", "https://u:p@h", "t")
	f.Add("migration", "toggle", "ver_1", "ver_2", "app", "src/m.ts", "true", "false", "5m", "11", "https://api.statebacked.dev", "sbtest_token")
	f.Fuzz(func(t *testing.T, mode, machine, from, to, workdir, file, gz, dry, timeout, retries, apiURL, token string) {
		e := env{
			"INPUT_MODE": mode, "INPUT_MACHINE": machine, "INPUT_FROM-VERSION": from, "INPUT_TO-VERSION": to,
			"INPUT_WORKING-DIRECTORY": workdir, "INPUT_FILE": file, "INPUT_GZIP": gz, "INPUT_DRY-RUN": dry,
			"INPUT_TIMEOUT": timeout, "INPUT_RETRIES": retries, "INPUT_API-URL": apiURL, "INPUT_TOKEN": token, "GITHUB_WORKSPACE": workspace,
		}
		cfg, err := loadConfig(source{getenv: e.get}, namer{}, func() (string, error) { return workspace, nil })
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
		// What was accepted is checked here with rules written apart from
		// the code's, so that a mistake in one shows against the other.
		switch {
		case !onlyChars(cfg.machine, slugChars) || len(cfg.machine) > 128:
			t.Errorf("accepted machine %q", cfg.machine)
		case cfg.mode.name == "migration" && (!onlyChars(cfg.from, versionChars) || !onlyChars(cfg.to, versionChars)):
			t.Errorf("accepted versions %q, %q", cfg.from, cfg.to)
		case cfg.timeout <= 0:
			t.Errorf("accepted timeout %v", cfg.timeout)
		case cfg.attempts < 1 || cfg.attempts > 10:
			t.Errorf("accepted retries %q: %d attempts", retries, cfg.attempts)
		case cfg.auth.token == "" && !cfg.dryRun:
			t.Error("accepted an empty token")
		case !safeAPIURL(cfg.apiURL):
			t.Errorf("accepted api-url %q", cfg.apiURL)
		}
		if slices.Contains(cfg.mode.inputs, "file") { // a mode that deploys code
			real, err := filepath.EvalSymlinks(filepath.Join(cfg.code.paths.dir, cfg.code.paths.entry))
			if err != nil || !strings.HasPrefix(real, workspace+string(filepath.Separator)) {
				t.Errorf("accepted entry %q that resolves to %q (%v), outside %s", cfg.code.paths.entry, real, err, workspace)
			}
			if ext := filepath.Ext(real); ext != ".ts" && ext != ".tsx" && ext != ".js" && ext != ".mjs" {
				t.Errorf("accepted entry %q", cfg.code.paths.entry)
			}
		}
	})
}

const (
	slugChars    = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
	versionChars = slugChars + ".:=+"
)

// onlyChars reports whether s is not empty and every byte of it is in set.
func onlyChars(s, set string) bool {
	for i := range len(s) {
		if !strings.ContainsRune(set, rune(s[i])) {
			return false
		}
	}
	return s != ""
}

// safeAPIURL reports whether u is https, or plain http to this machine,
// with no credentials, query or fragment.
func safeAPIURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.User != nil || p.RawQuery != "" || p.Fragment != "" || p.Host == "" {
		return false
	}
	if ip := net.ParseIP(p.Hostname()); p.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
		return p.Scheme == "http" || p.Scheme == "https"
	}
	return p.Scheme == "https"
}
