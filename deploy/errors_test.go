package deploy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeErrorBody checks that any error body, however hostile, yields
// fields that fit on one log line: no control characters (a newline could
// start a workflow command such as ::set-output) and bounded length.
func FuzzDecodeErrorBody(f *testing.F) {
	f.Add([]byte(`{"error":"no","code":"missing-scope","parameter":"x"}`))
	f.Add([]byte(`<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>m</Message></Error>`))
	f.Add([]byte("<!DOCTYPE html><html>502</html>"))
	f.Add([]byte("{\"error\":\"a\\n::add-mask::x\",\"code\":\"c\\r\\n\"}"))
	f.Add([]byte("plain\ntext\x1b[31m"))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := &APIError{Step: StepProvision, Status: 400}
		decodeErrorBody(e, body)
		for name, v := range map[string]string{"code": e.Code, "parameter": e.Parameter, "message": e.Message} {
			if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Errorf("%s %q has a control character", name, v)
			}
			if len(v) > 303 {
				t.Errorf("%s is %d bytes long", name, len(v))
			}
		}
		if !utf8.ValidString(e.Error()) && utf8.Valid(body) {
			t.Errorf("valid UTF-8 body gave invalid UTF-8 error %q", e.Error())
		}
	})
}
