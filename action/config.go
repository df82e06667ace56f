package action

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"sbdeploy/deploy"
)

// config is every input, parsed and checked. It is made once, by
// loadConfig, and never changed after.
type config struct {
	mode            string
	machine         string
	from, to        string
	paths           paths // code modes: the workspace, working directory and entry points
	gzip            bool
	validate        bool // code modes: evaluate the code first
	auth            auth
	tokenLifetime   time.Duration
	orgID           string
	apiURL          string
	dryRun          bool
	timeout         time.Duration
	attempts        int // per request, from the retries input
	deleteInstances bool
	clientInfo      string          // version, release
	makeCurrent     bool            // version, release
	indexSelectors  json.RawMessage // version, release; nil if not given
	createMachine   bool            // version, release
	indexes         []string        // with createMachine
	reuseVersion    bool            // version, release
	upgrade         bool            // upgrade; migration and release with upgrade-instances
	names           namer           // how messages name inputs
}

// tokenSource says where the run's token comes from, so that advice about
// a rejected token names the right place.
type tokenSource int

const (
	tokenNone  tokenSource = iota
	tokenInput             // the token input or flag
	tokenEnv               // STATEBACKED_TOKEN
	tokenKey               // minted from key-id and secret-key
)

// auth is how the run authenticates: a token, or a key to mint one from.
type auth struct {
	token  string // as sent: trimmed; "" with a key
	source tokenSource
	key    deploy.Key
}

// deploysVersion reports whether the mode deploys a machine version.
func (c *config) deploysVersion() bool { return c.mode == modeVersion || c.mode == modeRelease }

// deploysMigration reports whether the mode deploys a migration.
func (c *config) deploysMigration() bool {
	return c.mode == modeMigration || c.mode == modeRelease && c.from != ""
}

// deploysCode reports whether the mode bundles and deploys code.
func (c *config) deploysCode() bool { return slices.Contains(codeModes, c.mode) }

// problems collects what is wrong with the inputs, each naming its input as
// the caller gave it.
type problems struct {
	names namer
	errs  []error
}

func (p *problems) add(input, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", p.names.input(input), fmt.Sprintf(format, args...)))
}

// loadConfig checks every input and reports every problem at once, as a
// *usageError. It sends nothing; it reads the file system only to resolve
// paths inside workspace.
func loadConfig(src source, names namer, workspace func() (string, error)) (*config, error) {
	c := &config{
		mode:     src.get("mode"),
		machine:  src.get("machine"),
		from:     src.get("from-version"),
		to:       src.get("to-version"),
		orgID:    src.get("org-id"),
		apiURL:   src.get("api-url"),
		names:    names,
		attempts: 1,
	}
	errs := &problems{names: names}
	if !slices.Contains(allModes, c.mode) {
		errs.add("mode", "%s is not a mode: use %s", quote(c.mode), strings.Join(allModes, ", "))
	}
	checkUnknownInputs(src.environ, names, errs)
	checkModeInputs(src, c.mode, errs)
	c.loadMachine(src, errs)
	c.loadRun(src, errs)
	c.loadVersions(errs)
	c.loadVersionInputs(src, errs)
	switch c.mode {
	case modeUpgrade:
		c.upgrade = true
	case modeMigration, modeRelease:
		c.upgrade = c.bool(src, "upgrade-instances", errs)
	}
	c.loadAuth(src, errs)
	if c.deploysCode() {
		var err error
		if c.paths, err = loadPaths(src, c, workspace); err != nil {
			errs.errs = append(errs.errs, err)
		}
	}
	if len(errs.errs) > 0 {
		return nil, &usageError{errors.Join(errs.errs...)}
	}
	return c, nil
}

// checkModeInputs applies one rule to every input: one given to a mode that
// does not use it is an error, since a run that ignored it would not do
// what the workflow says.
func checkModeInputs(src source, mode string, errs *problems) {
	if !slices.Contains(allModes, mode) {
		return
	}
	for _, in := range inputs {
		if in.modes != nil && !slices.Contains(in.modes, mode) && src.given(in.name) {
			errs.add(in.name, "not used by mode %s (only by %s): remove it, or choose one of those modes",
				mode, strings.Join(in.modes, ", "))
		}
	}
}

// loadMachine checks the machine name, and in a teardown the confirmation.
func (c *config) loadMachine(src source, errs *problems) {
	switch {
	case c.machine == "":
		errs.add("machine", "required: the name of the machine")
		return
	case !deploy.ValidSlug(c.machine):
		errs.add("machine", "%s is not a machine name: use 1-128 letters, digits, _ or -", quote(c.machine))
		return
	}
	if c.mode != modeTeardown {
		return
	}
	fix := fmt.Sprintf("set %s (exactly the machine name) to delete the machine %q "+
		"with all its versions, migrations and instances, for good", c.names.setting("confirm-delete", c.machine), c.machine)
	switch confirm := src.raw("confirm-delete"); {
	case confirm == "":
		errs.add("confirm-delete", "required for a teardown: %s", fix)
	case confirm != c.machine:
		errs.add("confirm-delete", "%s is not the machine name %q, to the letter: %s", quote(confirm), c.machine, fix)
	}
	c.deleteInstances = c.bool(src, "delete-instances", errs)
}

// loadRun checks the inputs every mode shares: how to run and where to.
func (c *config) loadRun(src source, errs *problems) {
	c.gzip = c.bool(src, "gzip", errs)
	c.validate = c.bool(src, "validate", errs)
	c.dryRun = c.bool(src, "dry-run", errs)
	var err error
	if c.timeout, err = time.ParseDuration(src.get("timeout")); err != nil || c.timeout <= 0 {
		errs.add("timeout", "%s is not a positive duration: use a Go duration such as 90s or 5m", quote(src.get("timeout")))
	}
	if c.attempts, err = strconv.Atoi(src.get("retries")); err != nil || c.attempts < 1 || c.attempts > 10 {
		errs.add("retries", "%s is not a number of attempts from 1 to 10", quote(src.get("retries")))
	}
	if _, err := deploy.ParseBaseURL(c.apiURL); err != nil {
		errs.add("api-url", "%v", err)
	}
	if strings.ContainsAny(c.orgID, " \t\r\n") {
		errs.add("org-id", "%s must not contain spaces", quote(c.orgID))
	}
}

// bool reads a true/false input.
func (c *config) bool(src source, name string, errs *problems) bool {
	switch v := src.get(name); strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	default:
		errs.add(name, "%s is not true or false", quote(v))
		return false
	}
}

// versionPattern is what a machine version ID may hold; validVersionID
// checks its length too (see deploy's slugPattern for why apart).
var versionPattern = regexp.MustCompile(`^[A-Za-z0-9_.:=+-]+$`)

func validVersionID(s string) bool { return len(s) <= 512 && versionPattern.MatchString(s) }

// loadVersions checks from-version and to-version where the mode needs
// them; checkModeInputs has refused them where it does not.
func (c *config) loadVersions(errs *problems) {
	var required []string
	switch {
	case c.mode == modeMigration:
		required = []string{"from-version", "to-version"}
	case c.mode == modeRelease && c.from != "":
		required = []string{"from-version"}
	case c.mode == modeUpgrade:
		required = []string{"to-version"}
	}
	for _, name := range required {
		v := map[string]string{"from-version": c.from, "to-version": c.to}[name]
		switch {
		case v == "" && c.mode == modeUpgrade:
			errs.add(name, "required for an upgrade: the machine version ID (ver_...) to move instances to")
		case v == "":
			errs.add(name, "required for a migration: a machine version ID (ver_...)")
		case !validVersionID(v):
			errs.add(name, "%s is not a machine version ID", quote(v))
		}
	}
	if c.mode == modeMigration && c.from != "" && c.from == c.to {
		errs.add("to-version", "%s is from-version too: a migration goes from one version to another, so check both", quote(c.to))
	}
}

// loadVersionInputs checks the inputs of a machine version deploy.
func (c *config) loadVersionInputs(src source, errs *problems) {
	if !c.deploysVersion() {
		return
	}
	c.makeCurrent = c.bool(src, "make-current", errs)
	c.createMachine = c.bool(src, "create-machine", errs)
	c.reuseVersion = c.bool(src, "reuse-version", errs)
	if raw := src.get("index-selectors"); raw != "" {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &obj) != nil || obj == nil {
			errs.add("index-selectors", "%s is not a JSON object, such as {\"email\": \"$.user.email\"}", quote(raw))
		} else {
			c.indexSelectors = json.RawMessage(raw)
		}
	}
	for _, name := range strings.Split(src.get("indexes"), ",") {
		switch name = strings.TrimSpace(name); {
		case name == "":
		case !deploy.ValidSlug(name):
			errs.add("indexes", "%s is not an index name: use 1-128 letters, digits, _ or -", quote(name))
		default:
			c.indexes = append(c.indexes, name)
		}
	}
	if len(c.indexes) > 0 && !c.createMachine {
		errs.add("indexes", "used only when create-machine is true")
	}
	if c.clientInfo = src.get("client-info"); c.clientInfo == "" {
		c.clientInfo = src.getenv("GITHUB_SHA")
	}
	if c.clientInfo == "" && src.gitHead != nil {
		c.clientInfo = src.gitHead()
	}
	if strings.ContainsAny(c.clientInfo, "\r\n") {
		errs.add("client-info", "must be one line")
	}
}

// loadAuth checks that exactly one way to authenticate is given: a token,
// or a key (key-id and secret-key) to mint one from. Secrets are never
// echoed.
func (c *config) loadAuth(src source, errs *problems) {
	key := deploy.Key{ID: src.get("key-id"), Secret: src.get("secret-key")}
	token := src.get("token")
	var err error
	if c.tokenLifetime, err = time.ParseDuration(src.get("token-lifetime")); err != nil ||
		c.tokenLifetime <= 0 || c.tokenLifetime > deploy.MaxTokenLifetime {
		errs.add("token-lifetime", "%s is not a duration from 1s to 1h", quote(src.get("token-lifetime")))
	}
	withKey := key.ID != "" || key.Secret != ""
	switch {
	case withKey && token != "":
		errs.add("token", "give a token, or key-id and secret-key, not both")
	case withKey && (key.ID == "" || key.Secret == ""):
		errs.add("key-id", "key-id and secret-key go together: give both (from repository secrets), or neither")
	case withKey:
		if err := key.Check(); err != nil {
			errs.add("key-id", "%v", err)
		}
		c.auth = auth{key: key, source: tokenKey}
	case token != "":
		c.auth = auth{token: token, source: tokenInput}
	case strings.TrimSpace(src.getenv("STATEBACKED_TOKEN")) != "":
		c.auth = auth{token: strings.TrimSpace(src.getenv("STATEBACKED_TOKEN")), source: tokenEnv}
	case !c.dryRun || c.mode == modeTeardown || c.mode == modeUpgrade:
		errs.errs = append(errs.errs, c.emptyTokenError(src.getenv))
	}
	if c.auth.token != "" && len(c.auth.token) < minSecretLen {
		errs.add("token", "shorter than %d characters: that is not a StateBacked token (its value is not shown)", minSecretLen)
	}
	if key.Secret != "" && len(key.Secret) < minSecretLen {
		errs.add("secret-key", "shorter than %d characters: that is not a StateBacked secret key (its value is not shown)", minSecretLen)
	}
}

// emptyTokenError explains the most common cause first: GitHub passes no
// secrets to workflows run for pull requests from forks.
func (c *config) emptyTokenError(getenv func(string) string) error {
	set := fmt.Sprintf("set %s, or %s and %s, or the STATEBACKED_TOKEN environment variable",
		c.names.setting("token", "${{ secrets.STATEBACKED_TOKEN }}"), c.names.input("key-id"), c.names.input("secret-key"))
	if c.names.flags {
		set = "pass --token, or --key-id and --secret-key, or set the STATEBACKED_TOKEN environment variable"
	}
	if c.dryRun { // only the dry runs of teardown and upgrade need a token
		set += fmt.Sprintf(" (the dry run of %s lists the machine's instances, so it needs a token too)", c.mode)
	}
	switch getenv("GITHUB_EVENT_NAME") {
	case "pull_request", "pull_request_review", "pull_request_review_comment":
		return fmt.Errorf("%s: empty. This run is for a pull request, and GitHub passes no secrets "+
			"to pull requests from forks: deploy from push events or from branches of this repository. Otherwise %s",
			c.names.input("token"), set)
	}
	return fmt.Errorf("%s: empty: %s", c.names.input("token"), set)
}
