package deploy

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MinSecretLen is the length below which a value is not hidden: masking a
// shorter one would turn common words into ***.
const MinSecretLen = 8

// minFragmentLen is the shortest base64 fragment of a secret that is
// hidden: 11 characters carry 66 bits, at least the 64 of the shortest
// secret. The fragments of an 8-byte secret are shorter and are left alone
// (its whole encodings are still hidden); without a bar, a short secret's
// fragment could match ordinary base64 text.
const minFragmentLen = (8*MinSecretLen + 5) / 6

// SecretForms returns the ways a server, or this package's errors, may
// carry v: as it is, JSON-escaped, Go-quoted, URL-escaped, and base64
// encoded. Base64 forms are the whole encodings (standard and URL-safe, with
// and without padding) and, for v inside a larger encoded blob, the middle
// of its encoding at each of the three alignments (0, 1 or 2 bytes before it,
// mod 3), without the characters at either end that depend on the
// neighbouring bytes; a middle shorter than minFragmentLen is left out.
func SecretForms(v string) []string {
	forms := []string{v}
	// JSON as Go writes it (<, > and & as \u003c...), as most others do,
	// and with / escaped as \/ (PHP).
	for _, html := range []bool{true, false} {
		var b strings.Builder
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(html)
		if e.Encode(v) == nil {
			inner := strings.TrimSuffix(b.String(), "\n")
			inner = inner[1 : len(inner)-1]
			forms = append(forms, inner, strings.ReplaceAll(inner, "/", `\/`))
		}
	}
	quoted := strconv.Quote(v)
	forms = append(forms, quoted[1:len(quoted)-1], url.QueryEscape(v), url.PathEscape(v))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(v)))
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for lead := range 3 {
			s := enc.EncodeToString(append(make([]byte, lead), v...))
			// Character i holds bits 6i to 6i+6; v's bits are 8*lead to
			// 8*(lead+len(v)).
			from, to := (8*lead+5)/6, 8*(lead+len(v))/6
			if to-from >= minFragmentLen {
				forms = append(forms, s[from:to])
			}
		}
	}
	out := forms[:0]
	for _, f := range forms {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Folds reports whether r is a character that server text loses before it
// is shown: a C0 or C1 control (CR and LF among them), DEL, an invalid byte,
// a format character (zero-width, bidirectional), or a line or paragraph
// separator. clean turns each into a space or drops it; a workflow command
// escapes CR and LF, and a log shows them as line breaks. A secret split by
// such characters would print as pieces that no match of the whole finds.
func Folds(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && (r <= 0x9f || r == utf8.RuneError ||
		unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029)
}

// Redact replaces with *** every place in text that holds one of forms,
// whole or with characters that Folds between its characters, before
// anything folds them: so a secret split by a line break, a control or a
// zero-width character is hidden as a whole, and no cleaning done afterwards
// can join or separate its pieces into something shown.
//
// The guarantee is that one: a form present in text, possibly interrupted
// by folding characters, is hidden. A secret cut in two by anything else (a
// space, other words), reversed, or encoded in a way not among the forms is
// not found; no redactor finds every transformation of a secret that a
// server holding it chooses to print.
func Redact(text string, forms []string) string {
	if len(forms) == 0 || text == "" {
		return text
	}
	kept, at := unfold(text)
	var spans [][2]int
	find := func(in, f string, at []int) {
		for i := 0; ; {
			j := strings.Index(in[i:], f)
			if j < 0 {
				return
			}
			start, end := i+j, i+j+len(f)
			if at != nil {
				start, end = at[start], at[end-1]+1
			}
			spans = append(spans, [2]int{start, end})
			i += j + 1 // overlapping matches too, so none is half shown
		}
	}
	for _, f := range forms {
		unfolded, _ := unfold(f)
		switch {
		case unfolded == f:
			find(kept, f, at)
		default: // a form holding folding characters: as it is, and without them
			find(text, f, nil)
			if len(unfolded) >= MinSecretLen {
				find(kept, unfolded, at)
			}
		}
	}
	if len(spans) == 0 {
		return text
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	last := 0
	for i := 0; i < len(spans); {
		start, end := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] < end; i++ {
			end = max(end, spans[i][1])
		}
		b.WriteString(text[last:start])
		b.WriteString("***")
		last = end
	}
	b.WriteString(text[last:])
	return b.String()
}

// unfold returns text without the characters that Folds, and for each byte
// kept its offset in text; the offsets are nil when nothing folds.
func unfold(text string) (string, []int) {
	if !strings.ContainsFunc(text, Folds) {
		return text, nil
	}
	var kept []byte
	var at []int
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !Folds(r) {
			kept = append(kept, text[i:i+n]...)
			for j := range n {
				at = append(at, i+j)
			}
		}
		i += n
	}
	return string(kept), at
}

// secretSet holds the secrets a Client knows (its token, and those it learns
// from provision answers) in every form, to hide them in server text before
// the text is cleaned. It is safe for concurrent use.
type secretSet struct {
	mu    sync.Mutex
	forms []string
}

func (s *secretSet) add(v string) {
	if len(strings.TrimSpace(v)) < MinSecretLen {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range SecretForms(v) {
		if !slices.Contains(s.forms, f) {
			s.forms = append(s.forms, f)
		}
	}
}

func (s *secretSet) redact(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Redact(text, s.forms)
}

// text makes server text fit to be shown: the client's secrets hidden in
// the raw text first, then cleaned (see clean). The order matters: clean
// turns a line break into a space and drops zero-width characters, which
// would turn a secret split by them into pieces that no later redaction
// recognises.
func (c *Client) text(s string) string { return clean(c.secrets.redact(s)) }
