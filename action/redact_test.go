package action

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedactor(t *testing.T) {
	t.Parallel()
	const (
		token  = "tok_ABCDEFGH12345678"
		inner  = "ABCDEFGH"          // a secret inside the token
		spaced = "  sp4ced-secret  " // given with spaces around it
		odd    = "a%b:c,d|e`f\"g"    // every character the escapes change
		html   = "html</>secret"     // characters JSON encoders escape
		b64    = "~~~>>>???key!"     // base64 with + and / (- and _ URL-safe), padded ==
		short  = "Zq9Wv7Ku"          // 8 bytes: base64 fragments too short to hide
	)
	enc := func(e *base64.Encoding, v string) string { return e.EncodeToString([]byte(v)) }
	if enc(base64.StdEncoding, b64) == enc(base64.URLEncoding, b64) || !strings.HasSuffix(enc(base64.StdEncoding, b64), "==") {
		t.Fatal("the base64 secret must encode differently in the two alphabets, with padding")
	}
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"several secrets", []string{"a " + token + " b " + strings.TrimSpace(spaced) + " c\n"}, "a *** b *** c\n"},
		{"a secret inside another is replaced whole, once", []string{token + " and " + inner + "\n"}, "*** and ***\n"},
		{"split across writes", []string{"x tok_ABCD", "EFGH1234", "5678 y\n"}, "x *** y\n"},
		{"untrimmed and trimmed", []string{spaced + "|" + strings.TrimSpace(spaced) + "\n"}, "***|***\n"},
		{"escaped for a workflow command", []string{"::error::a%25b%3Ac%2Cd|e`f\"g\n"}, "::error::***\n"},
		{"escaped for Markdown", []string{`a%b:c,d\|e'f"g` + "\n"}, "***\n"},
		{"quoted", []string{`"a%b:c,d|e` + "`" + `f\"g"` + "\n"}, `"***"` + "\n"},
		{"an unfinished line is written on Flush", []string{"end " + token}, "end ***"},
		{"JSON-escaped as Go does", []string{`{"k":"html\u003c/\u003esecret"}` + "\n"}, `{"k":"***"}` + "\n"},
		{"JSON-escaped with \\/", []string{`{"k":"html<\/>secret"}` + "\n"}, `{"k":"***"}` + "\n"},
		// A query escapes ":" and a path does not: both forms are hidden.
		{"URL-escaped, in a path and in a query", []string{"/p/a%25b:c%2Cd%7Ce%60f%22g?k=a%25b%3Ac%2Cd%7Ce%60f%22g&h=html%3C%2F%3Esecret\n"}, "/p/***?k=***&h=***\n"},
		{"base64", []string{"a " + enc(base64.StdEncoding, b64) + " b\n"}, "a *** b\n"},
		{"base64 without padding", []string{"a " + enc(base64.RawStdEncoding, b64) + " b\n"}, "a *** b\n"},
		{"base64 URL-safe", []string{"a " + enc(base64.URLEncoding, b64) + " b\n"}, "a *** b\n"},
		{"base64 URL-safe without padding", []string{"a " + enc(base64.RawURLEncoding, b64) + " b\n"}, "a *** b\n"},
		{"base64 of the token", []string{"a " + enc(base64.StdEncoding, token) + " b\n"}, "a *** b\n"},
		// At one byte in, the first 2 characters and the last 2 depend on
		// the bytes around the secret and stay.
		{"base64 of a blob, the token one byte in", []string{enc(base64.StdEncoding, "{"+token+"}") + "\n"}, "e3***fQ==\n"},
		{"base64 of a short secret's blob: too short a fragment to hide", []string{enc(base64.StdEncoding, "{"+short+"}") + "\n"}, enc(base64.StdEncoding, "{"+short+"}") + "\n"},
		{"split by a line break in one write", []string{"a tok_ABCDEFGH\n12345678 b\n"}, "a *** b\n"},
		{"split by CR LF in one write", []string{"a tok_ABCDEFGH\r\n12345678 b\n"}, "a *** b\n"},
		{"split by a zero-width space", []string{"a tok_ABCD\u200bEFGH12345678 b\n"}, "a *** b\n"},
		{"base64 wrapped at a line break", []string{"a " + enc(base64.StdEncoding, token)[:10] + "\r\n" + enc(base64.StdEncoding, token)[10:] + " b\n"}, "a *** b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, out := newRedactor(token, inner, spaced, odd, html, b64, short)
			for _, w := range tt.writes {
				if n, err := r.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := r.Flush(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestRedactBeforeCutting checks that a long line is cut after redaction:
// a cut made first would leave the start of a secret behind.
func TestRedactBeforeCutting(t *testing.T) {
	t.Parallel()
	const token = "Zq9Wv7Ku5Ts3Rp1Yn"
	r, out := newRedactor(token)
	line := strings.Repeat("x", maxLineBytes-2) + token + strings.Repeat("y", 100) + "\n"
	if _, err := r.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, token[:2]) || !strings.Contains(got, "*") || !strings.Contains(got, "[cut: ") {
		t.Errorf("cut line = ...%q, want the secret redacted, then the line cut", got[len(got)-80:])
	}
	if len(got) > maxLineBytes+40 {
		t.Errorf("line of %d bytes, want at most about %d", len(got), maxLineBytes)
	}
}

// TestRedactorBoundsEndlessLines checks that a line without end is written
// in bounded parts, never held whole, and still redacted at the seams.
func TestRedactorBoundsEndlessLines(t *testing.T) {
	t.Parallel()
	const token = "Zq9Wv7Ku5Ts3Rp1Yn"
	r, out := newRedactor(token)
	chunk := strings.Repeat("x", 1000) + token
	for range 100 {
		if _, err := r.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		if len(r.pending) > maxLineBytes+len(token) {
			t.Fatalf("holding %d bytes of an unfinished line", len(r.pending))
		}
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), token[:4]) {
		t.Error("part of the secret was written")
	}
}

func TestSecretsTooShortAreNotMasked(t *testing.T) {
	t.Parallel()
	s := &secrets{}
	if got := s.add("short"); got != nil {
		t.Errorf("add(short) = %q, want nothing to mask", got)
	}
	if got := s.redact("a short word"); got != "a short word" {
		t.Errorf("redact = %q: a short value was masked", got)
	}
}

// TestRedactorOneHugeWrite checks a single write longer than a line may be,
// with a secret across the point where the redactor cuts it. Secrets before
// it, replaced by the shorter ***, bring the cut's place back under the
// line's limit, where a part of the secret would show.
func TestRedactorOneHugeWrite(t *testing.T) {
	t.Parallel()
	const token = "Zq9Wv7Ku5Ts3Rp1Yn"
	r, out := newRedactor(token)
	write := strings.Repeat(token, 10) + strings.Repeat("x", 4000) + token + strings.Repeat("y", 11)
	if _, err := r.Write([]byte(write)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), token[:4]) {
		t.Errorf("part of the secret was written: ...%q", out.String()[len(out.String())-60:])
	}
}

// newRedactor returns a redactor that hides values, and what it writes.
func newRedactor(values ...string) (*redactor, *bytes.Buffer) {
	s := &secrets{}
	for _, v := range values {
		s.add(v)
	}
	out := &bytes.Buffer{}
	return &redactor{w: out, secrets: s}, out
}

// TestRedactBase64Alignments checks that a secret inside any base64 blob is
// hidden whatever its place: only the characters that also hold the bytes
// around it may stay, at most 3 before it and 6 after (the next bytes'
// characters and padding).
func TestRedactBase64Alignments(t *testing.T) {
	t.Parallel()
	const token = "Zq9Wv7Ku5Ts3Rp1Yn-x_y"
	r, _ := newRedactor(token)
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		for before := range 3 {
			for after := range 3 {
				blob := e.EncodeToString([]byte("\xff\xfe"[:before] + token + "\xfb\xfa"[:after]))
				got := r.secrets.redact("<" + blob + ">")
				head, tail, ok := strings.Cut(got, "***")
				if !ok || strings.Contains(tail, "***") || len(head) > 1+3 || len(tail) > 6+1 {
					t.Errorf("%d bytes before and %d after: %q became %q, want one *** with at most 3 characters before and 6 after",
						before, after, blob, got)
				}
			}
		}
	}
}

// TestLoggerHidesSplitSecrets checks that a message with a secret split by
// a line break shows neither piece, however the logger writes it: escaped
// for a workflow command (the line break becomes %0A), or on lines of its
// own.
func TestLoggerHidesSplitSecrets(t *testing.T) {
	t.Parallel()
	const token = "Zq9Wv7Ku5Ts3Rp1Yn"
	half1, half2 := token[:8], token[8:]
	for _, gha := range []bool{true, false} {
		var out, errOut bytes.Buffer
		l := newLogger(gha, &out, &errOut, func(string) string { return "" })
		l.addSecret(token)
		l.fail(fmt.Errorf("refused: %s\n%s", half1, half2))
		l.warnf("token %s\r\n%s", half1, half2)
		l.noticef("token %s\n%s", half1, half2)
		l.infof("token %s\n%s", half1, half2)
		l.flush()
		var shown []string
		for line := range strings.Lines(out.String() + errOut.String()) {
			if !strings.HasPrefix(line, "::add-mask::") {
				shown = append(shown, line)
			}
		}
		text := strings.Join(shown, "")
		if strings.Contains(text, half1) || strings.Contains(text, half2) || strings.Count(text, "***") != 4 {
			t.Errorf("GitHub %v: the log shows a piece of the secret, or not 4 ***:\n%s", gha, text)
		}
	}
}
