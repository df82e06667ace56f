package deploy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeErrorBody checks that any error body, however hostile, yields
// fields that fit on one log line: no control characters (a newline could
// start a workflow command such as ::set-output), no bidirectional
// overrides or line separators, and no more than the body held.
func FuzzDecodeErrorBody(f *testing.F) {
	f.Add([]byte(`{"error":"no","code":"missing-scope","parameter":"x"}`))
	f.Add([]byte(`<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>m</Message></Error>`))
	f.Add([]byte("<!DOCTYPE html><html>502</html>"))
	f.Add([]byte("{\"error\":\"a\\n::add-mask::x\",\"code\":\"c\\r\\n\"}"))
	f.Add([]byte("plain\ntext\x1b[31m"))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := &APIError{Step: StepProvision, Status: 400}
		decodeErrorBody(e, body, clean)
		for name, v := range map[string]string{"code": e.Code, "parameter": e.Parameter, "message": e.Message} {
			if strings.ContainsFunc(v, unsafeRune) {
				t.Errorf("%s %q has a control, bidi or separator character", name, v)
			}
			if len(v) > 3*len(body)+100 {
				t.Errorf("%s is %d bytes long, from a %d-byte body", name, len(v), len(body))
			}
		}
		if !utf8.ValidString(e.Error()) && utf8.Valid(body) {
			t.Errorf("valid UTF-8 body gave invalid UTF-8 error %q", e.Error())
		}
	})
}

// unsafeRune is what must never reach a log line from a server: C0 and C1
// controls, bidirectional overrides and isolates, line and paragraph
// separators.
func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x2028 || r == 0x2029 ||
		r == 0x200b || r == 0x200c || r == 0x200d || r == 0x2060 || r == 0xfeff || r == 0x00ad
}

func TestCleanStripsUnsafeText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"a\nb", "a b"},
		{"x\u0085y\u009bz", "x y z"},                 // C1: NEL and CSI
		{"safe\u202eexe.txt", "safeexe.txt"},         // right-to-left override
		{"a\u2066b\u2069c", "abc"},                   // isolates
		{"line\u2028two\u2029three", "linetwothree"}, // separators
		{"::add-mask::\r\n::error::x", "::add-mask::  ::error::x"},
	}
	for _, tt := range tests {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
