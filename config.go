package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"sbdeploy/deploy"
)

// input is one action input; each is also a command-line flag.
type input struct {
	name, def, usage string
}

// inputs are the action's inputs, in the order --help and action.yml list
// them. action_test.go checks that action.yml agrees.
var inputs = []input{
	{"mode", "migration", "what to do: migration, or teardown to delete the machine"},
	{"machine", "", "machine name (slug): 1-128 letters, digits, _ or -"},
	{"from-version", "", "machine version ID the migration starts from"},
	{"to-version", "", "machine version ID the migration ends at"},
	{"file", "", "entry point (.ts, .tsx, .js or .mjs), relative to working-directory"},
	{"working-directory", ".", "directory to bundle from, relative to the workspace"},
	{"gzip", "true", "upload the code gzipped: true or false"},
	{"token", "", "StateBacked API token (default: the STATEBACKED_TOKEN environment variable)"},
	{"org-id", "", "organization ID (org_...), for users in several organizations"},
	{"api-url", deploy.DefaultBaseURL, "StateBacked API URL"},
	{"dry-run", "false", "bundle and check only; send nothing: true or false"},
	{"timeout", "5m", "time limit for the whole run, as a Go duration (90s, 5m)"},
	{"retries", "4", "attempts in all for each request, 1 to 10 (1: no retries)"},
	{"confirm-delete", "", "teardown: must equal machine exactly to delete it"},
	{"delete-instances", "false", "teardown: delete every instance first: true or false"},
}

var versionPattern = regexp.MustCompile(`^[A-Za-z0-9_.:=+-]{1,512}$`)

var entryExtensions = []string{".ts", ".tsx", ".js", ".mjs"}

// config is every input, parsed and checked.
type config struct {
	mode             string // modeMigration or modeTeardown
	machine          string
	from, to         string
	workspace        string // absolute, symlinks resolved
	dir              string // the working directory: absolute, symlinks resolved, inside workspace
	entry            string // the entry point relative to dir, as given
	gzip             bool
	token            string
	orgID            string
	apiURL           string
	dryRun           bool
	timeout          time.Duration
	workspaceMissing string // a GITHUB_WORKSPACE that did not exist, if any
	deleteInstances  bool   // teardown only
	attempts         int    // per request, from the retries input
}

// The modes.
const (
	modeMigration = "migration"
	modeTeardown  = "teardown"
)

// source reads inputs: a flag set on the command line wins over the action's
// INPUT_<NAME> variable, which wins over the default.
type source struct {
	flags  map[string]string
	action *githubactions.Action
}

func (s source) get(name string) string {
	if v, ok := s.flags[name]; ok {
		return strings.TrimSpace(v)
	}
	if v := s.action.GetInput(name); v != "" {
		return v
	}
	for _, in := range inputs {
		if in.name == name {
			return in.def
		}
	}
	return ""
}

// raw is get without trimming spaces, for a value that must match exactly.
func (s source) raw(name string) string {
	if v, ok := s.flags[name]; ok {
		return v
	}
	return s.action.Getenv("INPUT_" + strings.ToUpper(name))
}

// parseFlags reads the command line. It returns flag.ErrHelp after printing
// the usage for --help.
func parseFlags(args []string, stderr io.Writer) (map[string]string, error) {
	fs := flag.NewFlagSet("sbdeploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(fs.Output()) }
	for _, in := range inputs {
		fs.String(in.name, in.def, in.usage)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every input is a flag (see --help)", fs.Arg(0))
	}
	set := map[string]string{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })
	return set, nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: sbdeploy [flags]
       sbdeploy demo
       sbdeploy emulator [--listen 127.0.0.1:8787]

Bundles a StateBacked migration and deploys it, or (--mode teardown) deletes a
machine on exact confirmation. In GitHub Actions every flag
is also an input (INPUT_<NAME>); a flag given here wins over its input.
"demo" deploys an example to a local emulator; "emulator" just runs one.

Flags:
`)
	for _, in := range inputs {
		def := ""
		if in.def != "" {
			def = fmt.Sprintf(" (default %q)", in.def)
		}
		fmt.Fprintf(w, "  --%-18s %s%s\n", in.name, in.usage, def)
	}
	fmt.Fprint(w, `
Outputs (to $GITHUB_OUTPUT, or printed as name=value):
  migration: migration-id, bundle-bytes, upload-bytes, bundle-sha256
  teardown:  deleted, deleted-instances
`)
}

// loadConfig checks every input and reports every problem at once. It does
// no network I/O; it reads the file system only to resolve paths.
func loadConfig(src source, getenv func(string) string, cwd string) (*config, error) {
	c := &config{
		mode:    src.get("mode"),
		machine: src.get("machine"),
		from:    src.get("from-version"),
		to:      src.get("to-version"),
		orgID:   src.get("org-id"),
		apiURL:  src.get("api-url"),
		token:   src.get("token"),
	}
	if c.token == "" {
		c.token = strings.TrimSpace(getenv("STATEBACKED_TOKEN"))
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("input %s: %s", name, fmt.Sprintf(format, args...)))
	}

	if c.mode != modeMigration && c.mode != modeTeardown {
		bad("mode", "%q is not a mode: use migration or teardown", c.mode)
	}
	machineOK := false
	switch {
	case c.machine == "":
		bad("machine", "required: the name of the machine")
	case !deploy.ValidSlug(c.machine):
		bad("machine", "%q is not a machine name: use 1-128 letters, digits, _ or -", c.machine)
	default:
		machineOK = true
	}
	if c.mode == modeMigration {
		for _, v := range []struct{ name, value string }{{"from-version", c.from}, {"to-version", c.to}} {
			switch {
			case v.value == "":
				bad(v.name, "required for a migration: a machine version ID (ver_...)")
			case !versionPattern.MatchString(v.value):
				bad(v.name, "%q is not a machine version ID", v.value)
			}
		}
	}
	var err error
	if c.mode == modeTeardown {
		if machineOK {
			if err := checkConfirmation(c.machine, src.raw("confirm-delete")); err != nil {
				errs = append(errs, err)
			}
		}
		if c.deleteInstances, err = parseBool(src.get("delete-instances")); err != nil {
			bad("delete-instances", "%v", err)
		}
	}
	if c.gzip, err = parseBool(src.get("gzip")); err != nil {
		bad("gzip", "%v", err)
	}
	if c.dryRun, err = parseBool(src.get("dry-run")); err != nil {
		bad("dry-run", "%v", err)
	}
	if c.timeout, err = time.ParseDuration(src.get("timeout")); err != nil || c.timeout <= 0 {
		bad("timeout", "%q is not a positive duration: use a Go duration such as 90s or 5m", src.get("timeout"))
	}
	if c.attempts, err = strconv.Atoi(src.get("retries")); err != nil || c.attempts < 1 || c.attempts > 10 {
		bad("retries", "%q is not a number of attempts from 1 to 10", src.get("retries"))
	}
	if _, err := deploy.ParseBaseURL(c.apiURL); err != nil {
		bad("api-url", "%v", err)
	}
	if strings.ContainsAny(c.orgID, " \t\r\n") {
		bad("org-id", "%q must not contain spaces", c.orgID)
	}
	// A teardown's dry run lists instances, so it needs the token too.
	if c.token == "" && (!c.dryRun || c.mode == modeTeardown) {
		errs = append(errs, emptyTokenError(getenv))
	}
	if c.mode == modeMigration {
		if err := c.resolvePaths(src.get("working-directory"), src.get("file"), getenv("GITHUB_WORKSPACE"), cwd); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// checkConfirmation is the teardown guard: the confirmation must be the
// machine name exactly, as when a person re-types a name to confirm. Nothing
// else (true, yes, another case, extra spaces) is accepted.
func checkConfirmation(machine, confirm string) error {
	fix := fmt.Sprintf("set confirm-delete: %s (exactly the machine name) to delete the machine %q "+
		"with all its versions, migrations and instances, for good", machine, machine)
	if confirm == "" {
		return fmt.Errorf("input confirm-delete: required for a teardown: %s", fix)
	}
	if confirm != machine {
		return fmt.Errorf("input confirm-delete: %q is not the machine name %q, to the letter: %s", confirm, machine, fix)
	}
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// emptyTokenError explains the most common cause first: GitHub passes no
// secrets to workflows run for pull requests from forks.
func emptyTokenError(getenv func(string) string) error {
	const set = "set the token input (token: ${{ secrets.STATEBACKED_TOKEN }}) or the STATEBACKED_TOKEN environment variable"
	switch getenv("GITHUB_EVENT_NAME") {
	case "pull_request", "pull_request_review", "pull_request_review_comment":
		return fmt.Errorf("input token: empty. This run is for a pull request, and GitHub passes no secrets "+
			"to pull requests from forks: deploy from push events or from branches of this repository. Otherwise %s", set)
	}
	return fmt.Errorf("input token: empty: %s", set)
}

// resolvePaths finds the working directory and the entry point and checks
// that both are inside the workspace, after following symlinks.
func (c *config) resolvePaths(workdir, file, workspace, cwd string) error {
	if workspace == "" {
		workspace = cwd
	} else if _, err := os.Stat(workspace); err != nil {
		// act can set GITHUB_WORKSPACE to a host path that is not mounted in
		// the action's container, whose working directory is the workspace.
		c.workspaceMissing = workspace
		workspace = cwd
	}
	ws, err := filepath.EvalSymlinks(workspace)
	if err != nil {
		return fmt.Errorf("workspace %s: %w", workspace, err)
	}
	c.workspace = ws
	if !filepath.IsLocal(workdir) {
		return fmt.Errorf("input working-directory: %q must be a relative path inside the workspace, without ..", workdir)
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(ws, workdir))
	if err != nil {
		return fmt.Errorf("input working-directory: %q does not exist in the workspace %s", workdir, ws)
	}
	if !inside(ws, dir) {
		return fmt.Errorf("input working-directory: %q leads outside the workspace (through a symlink to %s)", workdir, dir)
	}
	c.dir = dir
	switch {
	case file == "":
		return errors.New("input file: required: the entry point to bundle, relative to working-directory")
	case !filepath.IsLocal(file):
		return fmt.Errorf("input file: %q must be a relative path inside working-directory, without ..", file)
	case !slices.Contains(entryExtensions, filepath.Ext(file)):
		return fmt.Errorf("input file: %q must end in one of %s", file, strings.Join(entryExtensions, ", "))
	}
	real, err := filepath.EvalSymlinks(filepath.Join(dir, file))
	if err != nil {
		return fmt.Errorf("input file: %q not found in %s", file, dir)
	}
	if !inside(ws, real) {
		return fmt.Errorf("input file: %q leads outside the workspace (through a symlink to %s)", file, real)
	}
	if fi, err := os.Stat(real); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("input file: %q is not a regular file", file)
	}
	c.entry = file
	return nil
}

// inside reports whether path is dir or below it; both are clean and absolute.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel)
}
