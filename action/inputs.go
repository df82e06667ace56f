package action

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"sbdeploy/deploy"
)

// input is one action input; each is also a command-line flag. Which
// modes take it is the modes' to say (modeTable): an input no mode lists is
// every mode's.
type input struct {
	name, def, usage string
	boolean          bool // true or false; a bare flag means true
}

// inputs are the action's inputs, in the order --help and action.yml list
// them. A test checks that action.yml agrees.
var inputs = []input{
	{name: "mode", def: "migration", usage: "what to do: one of the modes below"},
	{name: "machine", usage: "machine name (slug): 1-128 letters, digits, _ or -"},
	{name: "from-version", usage: "machine version ID the migration starts from"},
	{name: "to-version", usage: "machine version ID the migration ends at; upgrade: the version to move instances to"},
	{name: "file", usage: "entry point (.ts, .tsx, .mts, .cts, .js, .mjs or .cjs), relative to working-directory: the migration, or the machine for version and release"},
	{name: "migration-file", usage: "release: the migration's entry point, when from-version is given"},
	{name: "from-machine-file", usage: "the source of the machine that from-version is (typically in a second checkout): check where the migration takes instances; version: show what changed"},
	{name: "to-machine-file", usage: "migration: the source of the machine that to-version is, with from-machine-file"},
	{name: "replay-instances", def: "0", usage: "migration and release: replay the migration on the state of up to this many instances now on from-version (0 to 10000; needs instances.admin)"},
	{name: "working-directory", def: ".", usage: "directory to bundle from, relative to the workspace (outside GitHub: to the current directory)"},
	{name: "gzip", def: "true", usage: "upload the code gzipped", boolean: true},
	{name: "validate", def: "true", usage: "evaluate the code and check it as the official CLI does, before deploying it", boolean: true},
	{name: "token", usage: "StateBacked API token (default: the STATEBACKED_TOKEN environment variable)"},
	{name: "key-id", usage: "API key ID (sbk_...), with secret-key: instead of a token"},
	{name: "secret-key", usage: "API key secret (sbsec_...), with key-id"},
	{name: "token-lifetime", def: "5m", usage: "lifetime of the token minted from key-id and secret-key, at most 1h"},
	{name: "org-id", usage: "organization ID (org_...), for users in several organizations"},
	{name: "api-url", def: deploy.DefaultBaseURL, usage: "StateBacked API URL"},
	{name: "dry-run", def: "false", usage: "check and report; change nothing", boolean: true},
	{name: "timeout", def: "5m", usage: "time limit for the whole run, as a Go duration (90s, 5m)"},
	{name: "retries", def: "4", usage: "attempts in all for each request, 1 to 10 (1: no retries)"},
	{name: "confirm-delete", usage: "teardown: must equal machine exactly to delete it"},
	{name: "delete-instances", def: "false", usage: "teardown: delete every instance first", boolean: true},
	{name: "client-info", usage: "version and release: what the version is, such as a commit (default: $GITHUB_SHA, or outside GitHub the git HEAD commit)"},
	{name: "make-current", def: "true", usage: "version and release: make the new version current", boolean: true},
	{name: "index-selectors", usage: "version and release: a JSON object of index selectors"},
	{name: "create-machine", def: "false", usage: "version and release: create the machine first if it does not exist", boolean: true},
	{name: "indexes", usage: "with create-machine: the machine's indexes, comma-separated"},
	{name: "max-concurrency", def: "64", usage: "upgrade, and upgrade-instances: the most requests in flight while instances are asked to move, 1 to 256; fewer while the API pushes back"},
	{name: "upgrade-instances", def: "false", usage: "migration and release: then ask every instance to move to the new version", boolean: true},
	{name: "comment-on-pr", def: "false", usage: "on a pull request, post what the run found as one comment, edited on every later run (needs pull-requests: write)", boolean: true},
	{name: "github-token", usage: "token for the GitHub API, for comment-on-pr and github-deployment (action: the workflow's token; elsewhere: GITHUB_TOKEN)"},
	{name: "github-deployment", def: "false", usage: "version, migration, release and teardown: record the deploy as a GitHub deployment with its status (needs deployments: write)", boolean: true},
	{name: "environment", usage: "with github-deployment: the GitHub environment (default: statebacked/<machine>)"},
	{name: "reuse-version", def: "false", usage: "version and release: reuse a version deployed before with this client-info, instead of deploying it again", boolean: true},
}

// lookupInput returns the input called name.
func lookupInput(name string) input {
	i := slices.IndexFunc(inputs, func(in input) bool { return in.name == name })
	if i < 0 {
		panic("action: no input " + name) // a typo in this package
	}
	return inputs[i]
}

// source reads inputs: a flag set on the command line wins over the action's
// INPUT_<NAME> variable, which wins over the default.
type source struct {
	flags   map[string]string
	getenv  func(string) string
	environ []string      // the environment as KEY=value, for the INPUT_ variables no input reads; nil: not checked
	gitHead func() string // outside GitHub: the commit the working directory's git HEAD names, or ""
	base    string        // the directory working-directory is relative to; "": the workspace
}

// get is the input's value, trimmed; an INPUT_ variable that is empty gives
// the default.
func (s source) get(name string) string {
	if v, ok := s.flags[name]; ok {
		return strings.TrimSpace(v)
	}
	return cmp.Or(strings.TrimSpace(s.raw(name)), lookupInput(name).def)
}

// raw is the input's value untrimmed, for a value that must match exactly.
func (s source) raw(name string) string {
	if v, ok := s.flags[name]; ok {
		return v
	}
	return s.getenv("INPUT_" + strings.ToUpper(name))
}

// given reports whether the input was set to something other than its
// default: GitHub passes every input, with its default when a workflow
// leaves it out.
func (s source) given(name string) bool { return s.get(name) != lookupInput(name).def }

// namer names inputs the way the caller gave them: as inputs on GitHub
// Actions, as flags anywhere else.
type namer struct{ flags bool }

// input names an input: "input machine", or "--machine".
func (n namer) input(name string) string {
	if n.flags {
		return "--" + name
	}
	return "input " + name
}

// setting shows how to set an input: "confirm-delete: toggle", or
// "--confirm-delete=toggle", which parses as printed, booleans included.
// A flag's value is one word of a shell command: as it is when it holds
// only characters no shell reads, in single quotes otherwise.
func (n namer) setting(name, value string) string {
	switch {
	case !n.flags:
		return name + ": " + value
	case value != "" && strings.Trim(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,:/=+@") == "":
		return "--" + name + "=" + value
	}
	return "--" + name + "='" + strings.ReplaceAll(value, "'", `'\''`) + "'"
}

// usageError is a command line or an input that cannot be run: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// errVersion is what parseFlags returns for --version.
var errVersion = errors.New("version requested")

// undefinedFlag begins the flag package's error for a flag it does not
// know, before the flag's name.
const undefinedFlag = "flag provided but not defined: -"

// parseFlags reads the command line into the flags that were given. It
// returns flag.ErrHelp for --help, errVersion for --version, and a
// *usageError for anything else it cannot read; it prints nothing.
func parseFlags(args []string) (map[string]string, error) {
	fs := flag.NewFlagSet("sbdeploy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	set := map[string]string{}
	// Each flag records the text it was given; a boolean one may be given
	// bare, which records "true".
	for _, in := range inputs {
		record := func(v string) error {
			set[in.name] = v
			return nil
		}
		if in.boolean {
			fs.BoolFunc(in.name, in.usage, record)
		} else {
			fs.Func(in.name, in.usage, record)
		}
	}
	version := fs.Bool("version", false, "print the version and exit")
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return set, err
	case err == nil && *version:
		return set, errVersion
	case err != nil && strings.HasPrefix(err.Error(), undefinedFlag):
		return set, &usageError{unknownFlag(strings.TrimPrefix(err.Error(), undefinedFlag))}
	case err != nil:
		return set, &usageError{fmt.Errorf("%w (see --help)", err)}
	case fs.NArg() > 0:
		return set, &usageError{fmt.Errorf("unexpected argument %s: every input is a flag (see --help)", quote(fs.Arg(0)))}
	}
	return set, nil
}

// quote shows a value a person gave. It is not shortened here: the log
// cuts long lines once secrets are hidden, so a cut never leaves part of
// one behind.
func quote(v string) string { return fmt.Sprintf("%q", v) }

// usage is the text of --help.
func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: sbdeploy [flags]
       sbdeploy demo
       sbdeploy emulator [--listen 127.0.0.1:8787] [--instances N] [--key K] [--admin-key K]
       sbdeploy help
       sbdeploy version

Bundles a StateBacked migration or machine version and deploys it, moves a
machine's instances to a version (--mode upgrade, or --upgrade-instances
after a migration), or (--mode teardown) deletes a machine on exact
confirmation. In GitHub Actions every flag is also an input
(INPUT_<NAME>); a flag given here wins over its input, and an INPUT_
variable that names no input is an error. Outside GitHub the workspace,
the only directory whose files are bundled, is GITHUB_WORKSPACE, or else
the git repository that holds the working directory, or else the working
directory; working-directory is relative to where the command runs.
"demo" deploys an example to a local emulator; "emulator" just runs one.

Flags:
`)
	for _, in := range inputs {
		name := in.name
		if !in.boolean {
			name += " value"
		}
		def := ""
		if in.def != "" {
			def = fmt.Sprintf(" (default %s)", in.def)
		}
		fmt.Fprintf(w, "  --%-24s %s%s\n", name, in.usage, def)
	}
	fmt.Fprint(w, "  --version                  print the version and exit\n\nModes:\n")
	for _, m := range modeTable {
		fmt.Fprintf(w, "  %-10s %s\n", m.name, m.usage)
	}
	fmt.Fprint(w, "\nOutputs (to $GITHUB_OUTPUT, or printed as name=value):\n")
	for _, m := range modeTable {
		fmt.Fprintf(w, "  %-10s %s\n", m.name+":", strings.Join(m.outputs, ", "))
	}
	fmt.Fprint(w, `
Exit codes:
  0  done
  1  the run failed (the API refused, the network failed, the code did not build)
  2  usage or input error: nothing was sent
  3  a release deployed its machine version but not its migration
`)
}
