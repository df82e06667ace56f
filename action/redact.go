package action

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"sbdeploy/deploy"
)

// maxLineBytes is the longest line written; longer ones are cut, after
// redaction, so that a cut never leaves part of a secret behind.
const maxLineBytes = 4096

// secrets holds every value that must never leave the process, in every
// form it could be printed in: as given and trimmed, in the forms a server
// may echo it in (JSON-escaped, quoted, URL-escaped, base64: see
// deploy.SecretForms), escaped for workflow commands (%25, %0A, %3A, %2C),
// and for a Markdown table (\|). It is safe for concurrent use.
//
// What redact guarantees: a form of a secret that is in the text it is
// given, whole or interrupted only by characters that deploy.Folds (line
// breaks, other controls, zero-width characters), is replaced. It is given
// text before anything folds or escapes it: deploy hides the secrets it
// knows in server text before cleaning it, and the logger redacts each
// message whole before it is escaped for a workflow command or split into
// lines.
type secrets struct {
	mu     sync.Mutex
	values []string // as given
	forms  []string // every form, longest first, so the longest match wins
}

// add registers v and returns the values a runner should mask (v, and v
// trimmed if that differs); none if v is too short or known.
func (s *secrets) add(v string) []string {
	if len(strings.TrimSpace(v)) < deploy.MinSecretLen {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.values, v) {
		return nil
	}
	s.values = append(s.values, v)
	mask := []string{v}
	if t := strings.TrimSpace(v); t != v {
		mask = append(mask, t)
	}
	for _, m := range mask {
		for _, f := range forms(m) {
			if !slices.Contains(s.forms, f) {
				s.forms = append(s.forms, f)
			}
		}
	}
	slices.SortFunc(s.forms, func(a, b string) int { return len(b) - len(a) })
	return mask
}

// forms are the ways v can appear in what this program writes: those of
// server text, and those of this program's own escapes.
func forms(v string) []string {
	data := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(v)
	property := strings.NewReplacer(":", "%3A", ",", "%2C").Replace(data)
	markdown := strings.NewReplacer("|", `\|`, "`", "'").Replace(v)
	return append(deploy.SecretForms(v), data, property, markdown)
}

// redact replaces every form of every secret in text with ***, also where
// line breaks or other folding characters split it (see deploy.Redact).
func (s *secrets) redact(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return deploy.Redact(text, s.forms)
}

// longest is the length of the longest form: how much of a line a secret
// could span.
func (s *secrets) longest() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.forms) == 0 {
		return 0
	}
	return len(s.forms[0])
}

// redactor writes through to w with every secret replaced by *** and every
// line cut to maxLineBytes. It holds an unfinished line until it ends, so a
// secret split across writes is still found; the complete lines it holds
// are redacted together, so a secret split by a line break within them is
// found too. Flush writes what is left of an unfinished line.
type redactor struct {
	mu      sync.Mutex
	w       io.Writer
	secrets *secrets
	pending []byte // an unfinished line
}

func (r *redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, p...)
	if i := bytes.LastIndexByte(r.pending, '\n'); i >= 0 {
		text := r.secrets.redact(string(r.pending[:i+1]))
		for line := range strings.Lines(text) {
			if _, err := io.WriteString(r.w, cutLine(line, maxLineBytes)); err != nil {
				return 0, err
			}
		}
		r.pending = r.pending[i+1:]
	}
	// A line that does not end is written in parts: redacted whole first, so
	// no secret can straddle the cut, then all but what could be the start
	// of a secret that the next write completes.
	if keep := max(r.secrets.longest(), 1) - 1; len(r.pending) > maxLineBytes+keep {
		text := r.secrets.redact(string(r.pending))
		cut := max(len(text)-keep, 0)
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		if err := r.emit([]byte(text[:cut])); err != nil {
			return 0, err
		}
		r.pending = []byte(text[cut:])
	}
	return len(p), nil
}

// Flush writes the unfinished line, if any.
func (r *redactor) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) == 0 {
		return nil
	}
	err := r.emit(r.pending)
	r.pending = nil
	return err
}

// emit writes one line (or part of one), redacted, then cut.
func (r *redactor) emit(line []byte) error {
	s := cutLine(r.secrets.redact(string(line)), maxLineBytes)
	_, err := io.WriteString(r.w, s)
	return err
}

// cutLine shortens s to at most n bytes (keeping its line break), at a
// character boundary, saying how much was cut.
func cutLine(s string, n int) string {
	body, nl := strings.CutSuffix(s, "\n")
	if len(body) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	out := body[:cut] + " [cut: " + strconv.Itoa(len(body)-cut) + " more bytes]"
	if nl {
		out += "\n"
	}
	return out
}
