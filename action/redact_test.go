package action

import (
	"bytes"
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
	)
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, out := newRedactor(token, inner, spaced, odd)
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
