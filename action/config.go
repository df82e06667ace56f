package action

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sbdeploy/deploy"
)

// config is every input, parsed and checked: the fields every mode has, a
// field for an input of one or two modes, and a struct for each group of
// modes that shares several. It is made once, by loadConfig, and never
// changed after.
type config struct {
	mode            *mode
	machine         string
	from, to        string // the versions the inputs name, where the mode takes them
	upgrade         bool   // upgrade; migration and release with upgrade-instances
	concurrency     int    // max-concurrency: the most requests in flight in a rollout
	auth            auth
	tokenLifetime   time.Duration
	orgID           string
	apiURL          string
	dryRun          bool
	timeout         time.Duration
	attempts        int   // per request, from the retries input
	names           namer // how messages name inputs
	code            codeConfig
	version         versionConfig
	deleteInstances bool // teardown: delete-instances
	github          githubConfig
}

// codeConfig is what the modes that deploy code (those that take file) take.
type codeConfig struct {
	paths    paths // the workspace, working directory and entry points
	gzip     bool
	validate bool // evaluate the code first
	replay   int  // instances to replay the migration on
}

// versionConfig is what the modes that deploy a machine version
// (mode.version) take.
type versionConfig struct {
	clientInfo     string
	makeCurrent    bool
	indexSelectors json.RawMessage // nil if not given
	createMachine  bool
	indexes        []string // with createMachine
	reuseVersion   bool
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
func (c *config) deploysVersion() bool { return c.mode.version }

// deploysMigration reports whether the mode deploys a migration.
func (c *config) deploysMigration() bool {
	return c.mode.migration == alwaysMigration || c.mode.migration == migrationWithFrom && c.from != ""
}

// problems collects what is wrong with the inputs, each naming its input as
// the caller gave it.
type problems struct {
	names namer
	errs  []error
}

func (p *problems) add(input, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", p.names.input(input), fmt.Sprintf(format, args...)))
}

// loading is what a mode's load reads: the inputs, where problems go, and
// how to find the workspace.
type loading struct {
	src       source
	errs      *problems
	workspace func() (string, error)
}

// loadConfig checks every input and reports every problem at once, as a
// *usageError. It sends nothing; it reads the file system only to resolve
// paths inside workspace.
func loadConfig(src source, names namer, workspace func() (string, error)) (*config, error) {
	c := &config{
		machine: src.get("machine"),
		from:    src.get("from-version"),
		to:      src.get("to-version"),
		orgID:   src.get("org-id"),
		apiURL:  src.get("api-url"),
		names:   names,
	}
	errs := &problems{names: names}
	checkUnknownInputs(src.environ, names, errs)
	name := src.get("mode")
	if c.mode = modeNamed(name); c.mode == nil {
		errs.add("mode", "%s is not a mode: use %s", quote(name), modeNames())
	} else {
		checkModeInputs(src, c.mode, errs)
	}
	c.loadRun(src, errs)
	if c.mode != nil {
		c.mode.load(c, loading{src: src, errs: errs, workspace: workspace})
		c.loadAuth(src, errs)
		c.loadGitHub(src, errs)
	}
	if len(errs.errs) > 0 {
		return nil, &usageError{errors.Join(errs.errs...)}
	}
	return c, nil
}

// loadRun checks the inputs every mode shares: the machine, how to run and
// where to.
func (c *config) loadRun(src source, errs *problems) {
	switch {
	case c.machine == "":
		errs.add("machine", "required: the name of the machine")
	case !deploy.ValidSlug(c.machine):
		errs.add("machine", "%s is not a machine name: use 1-128 letters, digits, _ or -", quote(c.machine))
	}
	c.dryRun = c.bool(src, "dry-run", errs)
	var err error
	if c.timeout, err = time.ParseDuration(src.get("timeout")); err != nil || c.timeout <= 0 {
		errs.add("timeout", "%s is not a positive duration: use a Go duration such as 90s or 5m", quote(src.get("timeout")))
	}
	c.attempts = wholeNumber(src, errs, "retries", 1, 10, "is not a number of attempts from 1 to 10")
	if _, err := deploy.ParseBaseURL(c.apiURL); err != nil {
		errs.add("api-url", "%v", err)
	}
	if strings.ContainsAny(c.orgID, " \t\r\n") {
		errs.add("org-id", "%s must not contain spaces", quote(c.orgID))
	}
}

// bool reads a true/false input.
func (c *config) bool(src source, name string, errs *problems) bool {
	v := src.get(name)
	if b := strings.ToLower(v); b == "true" || b == "false" {
		return b == "true"
	}
	errs.add(name, "%s is not true or false", quote(v))
	return false
}

// wholeNumber reads the input name as a whole number. One that is not from
// lo to hi is a problem: its value, quoted, then what is wrong with it.
func wholeNumber(src source, errs *problems, name string, lo, hi int, wrong string) int {
	v := src.get(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		errs.add(name, "%s %s", quote(v), wrong)
	}
	return n
}

// versionPattern is what a machine version ID may hold; requireVersion
// checks its length apart (see deploy's slugPattern for why).
var versionPattern = regexp.MustCompile(`^[A-Za-z0-9_.:=+-]+$`)

// requireVersion checks that the version input name gives, v, is a
// machine version ID; why says what the mode needs it for.
func requireVersion(errs *problems, name, v, why string) {
	switch {
	case v == "":
		errs.add(name, "required %s: a machine version ID (ver_...)", why)
	case len(v) > 512 || !versionPattern.MatchString(v):
		errs.add(name, "%s is not a machine version ID", quote(v))
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
	case !c.dryRun || c.mode.dryRunNeedsToken:
		errs.errs = append(errs.errs, c.emptyTokenError(src.getenv))
	}
	if c.auth.token != "" && len(c.auth.token) < deploy.MinSecretLen {
		errs.add("token", "shorter than %d characters: that is not a StateBacked token (its value is not shown)", deploy.MinSecretLen)
	}
	if key.Secret != "" && len(key.Secret) < deploy.MinSecretLen {
		errs.add("secret-key", "shorter than %d characters: that is not a StateBacked secret key (its value is not shown)", deploy.MinSecretLen)
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
	if c.dryRun { // only the dry runs that list instances need a token
		set += fmt.Sprintf(" (the dry run of %s lists the machine's instances, so it needs a token too)", c.mode.name)
	}
	switch getenv("GITHUB_EVENT_NAME") {
	case "pull_request", "pull_request_review", "pull_request_review_comment":
		return fmt.Errorf("%s: empty. This run is for a pull request, and GitHub passes no secrets "+
			"to pull requests from forks: deploy from push events or from branches of this repository. Otherwise %s",
			c.names.input("token"), set)
	}
	return fmt.Errorf("%s: empty: %s", c.names.input("token"), set)
}
