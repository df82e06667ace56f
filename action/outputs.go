package action

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// heredocDelimiter is the fixed delimiter go-githubactions writes outputs
// with: a value holding it could end its output early.
const heredocDelimiter = "_GitHubActionsFileCommandDelimeter_"

type output struct{ name, value string }

// writeOutputs writes step outputs to $GITHUB_OUTPUT, or prints them as
// name=value lines when there is no such file (a plain CLI run). Each must
// be one the mode's table lists: --help and action.yml say what the table
// says. Values come from servers too, so each is checked first: no line
// break (it could start another output), no delimiter, no secret; then all
// or none are written.
func (d *deployer) writeOutputs(outputs []output) error {
	for _, o := range outputs {
		switch {
		case !slices.Contains(d.cfg.mode.outputs, o.name):
			return fmt.Errorf("mode %s wrote output %s, which its table does not list", d.cfg.mode.name, o.name) // a mistake in this package
		case strings.ContainsAny(o.value, "\r\n"):
			return fmt.Errorf("output %s: refusing to write a value with a line break: %q", o.name, o.value)
		case strings.Contains(o.value, heredocDelimiter):
			return fmt.Errorf("output %s: refusing to write a value that holds the output file's delimiter", o.name)
		case d.log.redact(o.value) != o.value: // it holds a form of a secret
			return fmt.Errorf("output %s: refusing to write a value that holds a secret", o.name)
		}
	}
	if d.getenv("GITHUB_OUTPUT") == "" {
		for _, o := range outputs {
			fmt.Fprintf(d.log.out, "%s=%s\n", o.name, o.value)
		}
		return nil
	}
	return catch("write outputs to GITHUB_OUTPUT", func() {
		for _, o := range outputs {
			d.log.gh.SetOutput(o.name, o.value)
		}
	})
}

// checkFileCommands checks, before anything is sent, the files the runner
// gives for outputs and the job summary: each must be a regular file, or
// not exist yet. A FIFO would block the run where no time limit reaches,
// and a device such as /dev/full would fail only after the deploy.
func checkFileCommands(getenv func(string) string) error {
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"} {
		path := getenv(name)
		switch fi, err := os.Stat(path); {
		case path == "", errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return &usageError{fmt.Errorf("%s names %s, which cannot be read: %w", name, path, err)}
		case !fi.Mode().IsRegular():
			return &usageError{fmt.Errorf("%s names %s, which is not a regular file (%s): outputs and the job summary go to files", name, path, fi.Mode().Type())}
		}
	}
	return nil
}
