package main

import (
	"encoding/json"
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
	{"mode", "migration", "what to do: migration, version, release (a version and the migration to it), or teardown"},
	{"machine", "", "machine name (slug): 1-128 letters, digits, _ or -"},
	{"from-version", "", "machine version ID the migration starts from"},
	{"to-version", "", "machine version ID the migration ends at"},
	{"file", "", "entry point (.ts, .tsx, .js or .mjs), relative to working-directory: the migration, or the machine for version and release"},
	{"migration-file", "", "release: the migration's entry point, when from-version is given"},
	{"working-directory", ".", "directory to bundle from, relative to the workspace"},
	{"gzip", "true", "upload the code gzipped: true or false"},
	{"token", "", "StateBacked API token (default: the STATEBACKED_TOKEN environment variable)"},
	{"key-id", "", "API key ID (sbk_...), with secret-key: instead of a token"},
	{"secret-key", "", "API key secret (sbsec_...), with key-id"},
	{"token-lifetime", "5m", "lifetime of the token minted from key-id and secret-key, at most 1h"},
	{"org-id", "", "organization ID (org_...), for users in several organizations"},
	{"api-url", deploy.DefaultBaseURL, "StateBacked API URL"},
	{"dry-run", "false", "bundle and check only; send nothing: true or false"},
	{"timeout", "5m", "time limit for the whole run, as a Go duration (90s, 5m)"},
	{"retries", "4", "attempts in all for each request, 1 to 10 (1: no retries)"},
	{"confirm-delete", "", "teardown: must equal machine exactly to delete it"},
	{"delete-instances", "false", "teardown: delete every instance first: true or false"},
	{"client-info", "", "version and release: what the version is, such as a commit (default: $GITHUB_SHA)"},
	{"make-current", "true", "version and release: make the new version current: true or false"},
	{"index-selectors", "", "version and release: a JSON object of index selectors"},
	{"create-machine", "false", "version and release: create the machine first if it does not exist"},
	{"indexes", "", "with create-machine: the machine's indexes, comma-separated"},
}

// versionPattern is what a machine version ID may hold; validVersionID
// checks its length too (see deploy's slugPattern for why apart).
var versionPattern = regexp.MustCompile(`^[A-Za-z0-9_.:=+-]+$`)

func validVersionID(s string) bool { return len(s) <= 512 && versionPattern.MatchString(s) }

var entryExtensions = []string{".ts", ".tsx", ".js", ".mjs"}

// config is every input, parsed and checked.
type config struct {
	mode             string
	machine          string
	from, to         string
	workspace        string // absolute, symlinks resolved
	dir              string // the working directory: absolute, symlinks resolved, inside workspace
	entry            string // file, relative to dir, as given
	migrationEntry   string // release: migration-file, relative to dir, as given
	gzip             bool
	token            string // given, or minted from key at the start of the run
	key              deploy.Key
	tokenLifetime    time.Duration
	orgID            string
	apiURL           string
	dryRun           bool
	timeout          time.Duration
	attempts         int    // per request, from the retries input
	workspaceMissing string // a GITHUB_WORKSPACE that did not exist, if any

	deleteInstances bool // teardown

	clientInfo     string          // version, release
	makeCurrent    bool            // version, release
	indexSelectors json.RawMessage // version, release; nil if not given
	createMachine  bool            // version, release
	indexes        []string        // with createMachine
}

// The modes.
const (
	modeMigration = "migration"
	modeVersion   = "version"
	modeRelease   = "release"
	modeTeardown  = "teardown"
)

// deploysVersion reports whether the mode deploys a machine version.
func (c *config) deploysVersion() bool { return c.mode == modeVersion || c.mode == modeRelease }

// deploysMigration reports whether the mode deploys a migration.
func (c *config) deploysMigration() bool {
	return c.mode == modeMigration || c.mode == modeRelease && c.from != ""
}

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

Bundles a StateBacked migration or machine version and deploys it, or
(--mode teardown) deletes a machine on exact confirmation. In GitHub Actions every flag
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
  version:   version-id, bundle-bytes, upload-bytes, bundle-sha256
  release:   version-id, migration-id (with from-version), and the version's bundle-*
  teardown:  deleted, deleted-instances
`)
}

// problems collects what is wrong with the inputs, each naming its input.
type problems []error

func (p *problems) add(input, format string, args ...any) {
	*p = append(*p, fmt.Errorf("input %s: %s", input, fmt.Sprintf(format, args...)))
}

// loadConfig checks every input and reports every problem at once. It does
// no network I/O; it reads the file system only to resolve paths.
func loadConfig(src source, getenv func(string) string, cwd string) (*config, error) {
	c := &config{
		mode:       src.get("mode"),
		machine:    src.get("machine"),
		from:       src.get("from-version"),
		to:         src.get("to-version"),
		orgID:      src.get("org-id"),
		apiURL:     src.get("api-url"),
		token:      src.get("token"),
		key:        deploy.Key{ID: src.get("key-id"), Secret: src.get("secret-key")},
		clientInfo: src.get("client-info"),
	}
	var errs problems
	switch c.mode {
	case modeMigration, modeVersion, modeRelease, modeTeardown:
	default:
		errs.add("mode", "%q is not a mode: use migration, version, release or teardown", c.mode)
	}
	machineOK := false
	switch {
	case c.machine == "":
		errs.add("machine", "required: the name of the machine")
	case !deploy.ValidSlug(c.machine):
		errs.add("machine", "%q is not a machine name: use 1-128 letters, digits, _ or -", c.machine)
	default:
		machineOK = true
	}
	var err error
	if c.gzip, err = parseBool(src.get("gzip")); err != nil {
		errs.add("gzip", "%v", err)
	}
	if c.dryRun, err = parseBool(src.get("dry-run")); err != nil {
		errs.add("dry-run", "%v", err)
	}
	if c.timeout, err = time.ParseDuration(src.get("timeout")); err != nil || c.timeout <= 0 {
		errs.add("timeout", "%q is not a positive duration: use a Go duration such as 90s or 5m", src.get("timeout"))
	}
	if c.attempts, err = strconv.Atoi(src.get("retries")); err != nil || c.attempts < 1 || c.attempts > 10 {
		errs.add("retries", "%q is not a number of attempts from 1 to 10", src.get("retries"))
	}
	if _, err := deploy.ParseBaseURL(c.apiURL); err != nil {
		errs.add("api-url", "%v", err)
	}
	if strings.ContainsAny(c.orgID, " \t\r\n") {
		errs.add("org-id", "%q must not contain spaces", c.orgID)
	}
	c.checkVersions(&errs)
	c.checkVersionInputs(src, getenv, &errs)
	if c.mode == modeTeardown {
		if machineOK {
			if err := checkConfirmation(c.machine, src.raw("confirm-delete")); err != nil {
				errs = append(errs, err)
			}
		}
		if c.deleteInstances, err = parseBool(src.get("delete-instances")); err != nil {
			errs.add("delete-instances", "%v", err)
		}
	}
	c.checkAuth(src, getenv, &errs)
	if c.mode != modeTeardown && c.mode != "" {
		if err := c.resolvePaths(src, getenv("GITHUB_WORKSPACE"), cwd); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// checkVersions checks from-version and to-version for the mode.
func (c *config) checkVersions(errs *problems) {
	type versionInput struct{ name, value string }
	var required, forbidden []versionInput
	switch c.mode {
	case modeMigration:
		required = []versionInput{{"from-version", c.from}, {"to-version", c.to}}
	case modeRelease:
		forbidden = []versionInput{{"to-version", c.to}}
		if c.from != "" {
			required = []versionInput{{"from-version", c.from}}
		}
	case modeVersion:
		forbidden = []versionInput{{"from-version", c.from}, {"to-version", c.to}}
	}
	for _, v := range required {
		switch {
		case v.value == "":
			errs.add(v.name, "required for a migration: a machine version ID (ver_...)")
		case !validVersionID(v.value):
			errs.add(v.name, "%q is not a machine version ID", v.value)
		}
	}
	for _, v := range forbidden {
		if v.value != "" {
			errs.add(v.name, "not used by mode %s (a release migrates from from-version to the version it deploys; "+
				"mode version deploys no migration): remove it, or use mode migration", c.mode)
		}
	}
}

// checkVersionInputs checks the inputs of a machine version deploy, and
// that they are not given to a mode that would ignore them.
func (c *config) checkVersionInputs(src source, getenv func(string) string, errs *problems) {
	var err error
	if c.makeCurrent, err = parseBool(src.get("make-current")); err != nil {
		errs.add("make-current", "%v", err)
	}
	if c.createMachine, err = parseBool(src.get("create-machine")); err != nil {
		errs.add("create-machine", "%v", err)
	}
	if raw := src.get("index-selectors"); raw != "" {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &obj) != nil || obj == nil {
			errs.add("index-selectors", "%q is not a JSON object, such as {\"email\": \"$.user.email\"}", raw)
		} else {
			c.indexSelectors = json.RawMessage(raw)
		}
	}
	for _, name := range strings.Split(src.get("indexes"), ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
		case !deploy.ValidSlug(name):
			errs.add("indexes", "%q is not an index name: use 1-128 letters, digits, _ or -", name)
		default:
			c.indexes = append(c.indexes, name)
		}
	}
	if len(c.indexes) > 0 && !c.createMachine {
		errs.add("indexes", "used only when create-machine is true")
	}
	if c.clientInfo == "" {
		c.clientInfo = getenv("GITHUB_SHA")
	}
	if strings.ContainsAny(c.clientInfo, "\r\n") {
		errs.add("client-info", "must be one line")
	}
	if !c.deploysVersion() {
		for _, name := range []string{"create-machine", "index-selectors", "migration-file", "client-info"} {
			if v := src.get(name); v != "" && v != "false" {
				errs.add(name, "used only by modes version and release, not %s", c.mode)
			}
		}
	}
}

// checkAuth checks that exactly one way to authenticate is given: a token,
// or a key (key-id and secret-key) to mint one from.
func (c *config) checkAuth(src source, getenv func(string) string, errs *problems) {
	withKey := c.key.ID != "" || c.key.Secret != ""
	var err error
	if c.tokenLifetime, err = time.ParseDuration(src.get("token-lifetime")); err != nil ||
		c.tokenLifetime <= 0 || c.tokenLifetime > deploy.MaxTokenLifetime {
		errs.add("token-lifetime", "%q is not a duration from 1s to 1h", src.get("token-lifetime"))
	}
	switch {
	case withKey && c.token != "":
		errs.add("token", "give a token, or key-id and secret-key, not both")
	case withKey && (c.key.ID == "" || c.key.Secret == ""):
		errs.add("key-id", "key-id and secret-key go together: give both (from repository secrets), or neither")
	case withKey:
		if err := c.key.Check(); err != nil {
			errs.add("key-id", "%v", err)
		}
	case c.token == "":
		c.token = strings.TrimSpace(getenv("STATEBACKED_TOKEN"))
		// A teardown's dry run lists instances, so it needs a token too.
		if c.token == "" && (!c.dryRun || c.mode == modeTeardown) {
			*errs = append(*errs, emptyTokenError(getenv))
		}
	}
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
	const set = "set the token input (token: ${{ secrets.STATEBACKED_TOKEN }}), or key-id and secret-key, " +
		"or the STATEBACKED_TOKEN environment variable"
	switch getenv("GITHUB_EVENT_NAME") {
	case "pull_request", "pull_request_review", "pull_request_review_comment":
		return fmt.Errorf("input token: empty. This run is for a pull request, and GitHub passes no secrets "+
			"to pull requests from forks: deploy from push events or from branches of this repository. Otherwise %s", set)
	}
	return fmt.Errorf("input token: empty: %s", set)
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

// resolvePaths finds the working directory and the entry points and checks
// that all are inside the workspace, after following symlinks.
func (c *config) resolvePaths(src source, workspace, cwd string) error {
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
	workdir := src.get("working-directory")
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
	what := "the migration"
	if c.deploysVersion() {
		what = "the machine version"
	}
	if c.entry, err = c.resolveEntry("file", src.get("file"), what); err != nil {
		return err
	}
	migrationFile := src.get("migration-file")
	switch {
	case c.mode != modeRelease:
	case c.from != "":
		c.migrationEntry, err = c.resolveEntry("migration-file", migrationFile, "the migration from from-version")
	case migrationFile != "":
		err = errors.New("input migration-file: a release deploys a migration only from from-version: set from-version, or remove migration-file")
	}
	return err
}

// resolveEntry checks an entry point input, relative to the working
// directory, and returns it as given.
func (c *config) resolveEntry(input, file, what string) (string, error) {
	switch {
	case file == "":
		return "", fmt.Errorf("input %s: required: the entry point of %s, relative to working-directory", input, what)
	case !filepath.IsLocal(file):
		return "", fmt.Errorf("input %s: %q must be a relative path inside working-directory, without ..", input, file)
	case !slices.Contains(entryExtensions, filepath.Ext(file)):
		return "", fmt.Errorf("input %s: %q must end in one of %s", input, file, strings.Join(entryExtensions, ", "))
	}
	real, err := filepath.EvalSymlinks(filepath.Join(c.dir, file))
	if err != nil {
		return "", fmt.Errorf("input %s: %q not found in %s", input, file, c.dir)
	}
	if !inside(c.workspace, real) {
		return "", fmt.Errorf("input %s: %q leads outside the workspace (through a symlink to %s)", input, file, real)
	}
	if fi, err := os.Stat(real); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("input %s: %q is not a regular file", input, file)
	}
	return file, nil
}

// inside reports whether path is dir or below it; both are clean and absolute.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel)
}
