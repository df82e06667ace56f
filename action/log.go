package action

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"
)

// logger writes the run's log: workflow commands (groups, annotations) on
// GitHub Actions, plain lines anywhere else. Every byte goes through a
// redactor, and every message is redacted before it is escaped for a
// workflow command, so a secret reaches the log only as ***.
type logger struct {
	gha     bool
	secrets *secrets
	out     *redactor // stdout
	errOut  *redactor // stderr
	rawOut  io.Writer // stdout itself, for ::add-mask:: only
	gh      *githubactions.Action
}

func newLogger(gha bool, stdout, stderr io.Writer, getenv func(string) string) *logger {
	s := &secrets{}
	out := &redactor{w: stdout, secrets: s}
	return &logger{gha: gha, secrets: s, out: out, errOut: &redactor{w: stderr, secrets: s}, rawOut: stdout,
		gh: githubactions.New(githubactions.WithWriter(out), githubactions.WithGetenv(getenv))}
}

// addSecret hides v from now on: the runner masks it (on GitHub), and the
// redactors replace it in everything written. Outside GitHub the mask
// command would print the secret, so it is never sent there.
func (l *logger) addSecret(v string) {
	for _, m := range l.secrets.add(v) {
		if l.gha {
			// The mask command must carry the secret itself, so it goes to
			// the raw stdout; only the runner reads it.
			githubactions.New(githubactions.WithWriter(l.rawOut)).AddMask(m)
		}
	}
}

// redact hides secrets in text before it is escaped for a workflow command.
func (l *logger) redact(text string) string { return l.secrets.redact(text) }

// group logs lines under a title: a collapsible group on GitHub.
// Elsewhere each line starts with the title.
func (l *logger) group(title string, lines ...string) {
	prefix := title + ": "
	if l.gha {
		l.gh.Group(l.redact(title))
		defer l.gh.EndGroup()
		prefix = ""
	}
	for _, line := range lines {
		fmt.Fprintln(l.out, prefix+l.plain(line))
	}
}

// plain is a line of the log as text only: redacted, on one line, and not
// a workflow command, whatever the code or a server put in it (a state's
// name, say).
func (l *logger) plain(line string) string {
	line = strings.NewReplacer("\r", " ", "\n", " ").Replace(l.redact(line))
	if strings.HasPrefix(strings.TrimSpace(line), "::") {
		line = "\u200b" + line // a zero-width space: the runner reads commands at the start of a line
	}
	return line
}

func (l *logger) infof(format string, args ...any) { fmt.Fprintf(l.out, format+"\n", args...) }

func (l *logger) debugf(format string, args ...any) {
	if l.gha {
		l.gh.Debugf("%s", l.redact(fmt.Sprintf(format, args...)))
	}
}

func (l *logger) noticef(format string, args ...any) {
	l.command(l.gh.Noticef, l.out, "notice", fmt.Sprintf(format, args...))
}

func (l *logger) warnf(format string, args ...any) {
	l.command(l.gh.Warningf, l.errOut, "warning", fmt.Sprintf(format, args...))
}

// command writes msg, redacted, as the workflow command cmd on GitHub, and
// as a "level: msg" line to w anywhere else.
func (l *logger) command(cmd func(string, ...any), w io.Writer, level, msg string) {
	msg = l.redact(msg)
	if l.gha {
		cmd("%s", msg)
		return
	}
	fmt.Fprintf(w, "%s: %s\n", level, msg)
}

// annotate reports a problem at a place in a source file: an annotation on
// the pull request's diff on GitHub, file:line:col elsewhere.
func (l *logger) annotate(level, file string, line, col int, text string) {
	a := l.gh.WithFieldsMap(map[string]string{"file": l.redact(file), "line": strconv.Itoa(line), "col": strconv.Itoa(col)})
	cmd := a.Warningf
	if level == "error" {
		cmd = a.Errorf
	}
	if !l.gha {
		text = fmt.Sprintf("%s:%d:%d: %s", file, line, col, text)
	}
	l.command(cmd, l.errOut, level, text)
}

// fail reports the error that ends the run: one error for each problem
// when it joins several, as loadConfig's do.
func (l *logger) fail(err error) {
	if u, ok := errors.AsType[*usageError](err); ok {
		if joined, ok := u.err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				l.fail(e)
			}
			return
		}
	}
	l.command(l.gh.Errorf, l.errOut, "error", err.Error())
}

// flush writes what is left of unfinished lines.
func (l *logger) flush() {
	_ = l.out.Flush()
	_ = l.errOut.Flush()
}

// catch runs f, turning the panic go-githubactions raises when it cannot
// write a file into an error.
func catch(what string, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v", what, r)
		}
	}()
	f()
	return nil
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

// bytesText formats n with thousands separators: 1,234,567 bytes.
func bytesText(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s + " bytes"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
