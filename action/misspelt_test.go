package action

import (
	"os/exec"
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, want string }{
		{"dry_run", "dry-run"},
		{"DRY_RUN", "dry-run"},
		{"dryrun", "dry-run"},
		{"upgrade-instance", "upgrade-instances"},
		{"mahcine", "machine"},
		{"from_version", "from-version"},
		{"to-verison", "to-version"},
		{"retrys", "retries"},
		{"colour", ""},
		{"mod", "mode"},
		{"x", ""},
		{"confirm", ""},
	} {
		if got := suggest(tt.name); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestMisspeltFlag checks that a flag that names no input is a usage error
// that names the flag it most likely means, outside GitHub, and that an
// INPUT_ variable there is named as the variable it is.
func TestMisspeltFlag(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"underscore", []string{"--dry_run"}, nil, "--dry_run is not a flag of sbdeploy: did you mean --dry-run?"},
		{"with a value", []string{"--upgrade-instance=true"}, nil, "did you mean --upgrade-instances?"},
		{"nothing near", []string{"--colour", "blue"}, nil, "--colour is not a flag of sbdeploy (see --help)"},
		{"input variable", nil, map[string]string{"INPUT_DRY_RUN": "true"}, "the environment variable INPUT_DRY_RUN: not an input of sbdeploy, so this run would ignore it: did you mean INPUT_DRY-RUN (--dry-run)?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			delete(h.env, "GITHUB_ACTIONS")
			delete(h.env, "GITHUB_OUTPUT")
			for k, v := range tt.env {
				h.env[k] = v
			}
			_, stderr, err := h.run(t, tt.args...)
			if got := ExitCode(err); got != 2 {
				t.Fatalf("exit code %d, want 2 (err %v)", got, err)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr)
			}
			if n := len(h.em.Requests()); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

// TestSettingParsesAsPrinted checks that a flag that advice prints, such as
// --validate=false, reaches the program as printed when pasted into a shell:
// bash splits it, and the flag parser reads the value back.
func TestSettingParsesAsPrinted(t *testing.T) {
	t.Parallel()
	values := []string{"false", "true", "toggle", "ver_1:x=y+z", "two words", "it's", `a"b$c`, "", "--x"}
	for _, in := range inputs {
		for _, v := range values {
			printed := namer{flags: true}.setting(in.name, v)
			out, err := exec.Command("bash", "-c", `printf '%s\0' `+printed).Output()
			if err != nil {
				t.Fatalf("bash -c %q: %v", printed, err)
			}
			args := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			flags, err := parseFlags(args)
			if err != nil {
				t.Errorf("%s does not parse: %v", printed, err)
				continue
			}
			if got, ok := flags[in.name]; !ok || got != v {
				t.Errorf("%s parses as %q (given: %t), want %q", printed, got, ok, v)
			}
		}
	}
}
