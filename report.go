package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"
)

// logger writes the run's log: workflow commands (groups, annotations) on
// GitHub Actions, plain lines anywhere else. Every byte goes through a
// redactor, so a secret can reach the log only as ***.
type logger struct {
	gha     bool
	secrets []string
	out     *redactor // stdout
	errOut  *redactor // stderr
	rawOut  io.Writer // stdout itself, for ::add-mask:: only
	action  *githubactions.Action
}

func newLogger(gha bool, stdout, stderr io.Writer, getenv githubactions.GetenvFunc, secrets ...string) *logger {
	out := &redactor{w: stdout}
	l := &logger{gha: gha, out: out, errOut: &redactor{w: stderr}, rawOut: stdout,
		action: githubactions.New(githubactions.WithWriter(out), githubactions.WithGetenv(getenv))}
	for _, s := range secrets {
		l.addSecret(s)
	}
	return l
}

// addSecret hides s from now on: the runner masks it (on GitHub), and the
// redactors replace it in everything written.
func (l *logger) addSecret(s string) {
	if s == "" || slices.Contains(l.secrets, s) {
		return
	}
	l.secrets = append(l.secrets, s)
	l.out.secrets, l.errOut.secrets = l.secrets, l.secrets
	if l.gha {
		// The mask command must carry the secret itself, so it goes to the
		// raw stdout; only the runner reads it. Outside GitHub it would print
		// the secret, so it is never sent there.
		githubactions.New(githubactions.WithWriter(l.rawOut)).AddMask(s)
	}
}

// group logs lines under a title: a collapsible group on GitHub.
func (l *logger) group(title string, lines ...string) {
	if l.gha {
		l.action.Group(title)
		for _, line := range lines {
			fmt.Fprintln(l.out, line)
		}
		l.action.EndGroup()
		return
	}
	for _, line := range lines {
		fmt.Fprintf(l.out, "%s: %s\n", title, line)
	}
}

func (l *logger) infof(format string, args ...any) {
	fmt.Fprintf(l.out, format+"\n", args...)
}

func (l *logger) debugf(format string, args ...any) {
	if l.gha {
		l.action.Debugf(format, args...)
	}
}

func (l *logger) noticef(format string, args ...any) {
	if l.gha {
		l.action.Noticef(format, args...)
		return
	}
	fmt.Fprintf(l.out, "notice: "+format+"\n", args...)
}

// annotate reports a problem at a place in a source file: an annotation on
// the pull request's diff on GitHub, file:line:col elsewhere.
func (l *logger) annotate(level, file string, line, col int, text string) {
	if !l.gha {
		fmt.Fprintf(l.errOut, "%s: %s:%d:%d: %s\n", level, file, line, col, text)
		return
	}
	a := l.action.WithFieldsMap(map[string]string{
		"file": file, "line": strconv.Itoa(line), "col": strconv.Itoa(col),
	})
	if level == "error" {
		a.Errorf("%s", text)
	} else {
		a.Warningf("%s", text)
	}
}

// fail reports the error that ends the run.
func (l *logger) fail(err error) {
	if l.gha {
		l.action.Errorf("%s", err)
		return
	}
	fmt.Fprintf(l.errOut, "error: %s\n", err)
}

// redactor replaces secrets with *** in everything written through it.
type redactor struct {
	w       io.Writer
	secrets []string
}

func (r *redactor) Write(p []byte) (int, error) {
	s, changed := redact(string(p), r.secrets)
	if !changed {
		return r.w.Write(p)
	}
	if _, err := io.WriteString(r.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// redact replaces every secret in s with ***.
func redact(s string, secrets []string) (string, bool) {
	changed := false
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, "***")
			changed = true
		}
	}
	return s, changed
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
