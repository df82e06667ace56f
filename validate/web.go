package validate

import (
	"bytes"
	_ "embed"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// web gives the code the web APIs of the platform's runtime that top-level
// code plausibly calls and that cost the sandbox little, deterministic, and
// each as the web platform specifies it (TestWebAPIs compares them with
// Node's):
//   - crypto.randomUUID and crypto.getRandomValues, whose bytes come from
//     the random source that Math.random reads (fill, from Go), so that
//     they are the same on every run;
//   - TextEncoder, and TextDecoder for UTF-8, which code with Go's
//     unicode/utf8 (encodeInto, textDecoder);
//   - atob and btoa, structuredClone, queueMicrotask, and DOMException,
//     which these throw.
//
// What the sandbox cannot do the platform's way it refuses with a message
// that starts with sandboxLacks, so that the check reports it as its own
// limitation: TextDecoder for another encoding, structuredClone with
// transfer. The web APIs that are not here (fetch, URL, crypto.subtle,
// ...: platformGlobals) stay undefined, as feature tests expect.
//
// It runs before the prelude and keeps the built-ins that the prelude
// wraps, as nothing here makes more than a few times what it is given.
//
//go:embed js/web.js
var web string

// sandboxLacks starts the message of a refusal that is the sandbox's, not
// the code's, and the hint of one that the sandbox explains.
const sandboxLacks = "the validation sandbox lacks"

// platformGlobals are the globals of the platform's web-standard runtime
// that the sandbox lacks: web APIs that do more than compute (fetch,
// streams, events), that are large (URL, Intl), or that goja lacks.
// A member of a global the sandbox has is named in full (crypto.subtle).
var platformGlobals = []string{
	"AbortController", "AbortSignal", "Atomics", "Blob", "ByteLengthQueuingStrategy", "CompressionStream",
	"CountQueuingStrategy", "Crypto", "CryptoKey", "CustomEvent", "DecompressionStream", "ErrorEvent", "Event",
	"EventTarget", "File", "FinalizationRegistry", "FormData", "Headers", "Intl", "Iterator", "MessageChannel",
	"MessageEvent", "MessagePort", "Performance", "ProgressEvent", "ReadableStream", "Request", "Response",
	"SharedArrayBuffer", "SubtleCrypto", "TextDecoderStream", "TextEncoderStream", "TransformStream", "URL",
	"URLPattern", "URLSearchParams", "WeakRef", "WebAssembly", "WebSocket", "WritableStream",
	"crypto.subtle", "fetch", "navigator", "performance", "reportError",
}

var (
	// notDefined is a ReferenceError's message: the global is missing.
	notDefined = regexp.MustCompile(`^ReferenceError: ([\w$]+) is not defined$`)
	// refused is the message of a refusal of the sandbox's own.
	refused = regexp.MustCompile(sandboxLacks + ` ([^:]+)`)
	// memberBefore is the member expression that ends a text.
	memberBefore = regexp.MustCompile(`((?:[A-Za-z_$][\w$]*\s*\??\.\s*)*[A-Za-z_$][\w$]*)\s*(?:\??\.)?\s*$`)
	// identAt is the name that a TypeError points at the start of.
	identAt = regexp.MustCompile(`^[A-Za-z_$][\w$]*`)
	// newAt is a construction that a TypeError points at the start of.
	newAt = regexp.MustCompile(`^new\s+((?:[A-Za-z_$][\w$]*\s*\.\s*)*[A-Za-z_$][\w$]*)`)
)

// lacks returns what a throw shows that the code used, the platform has
// and the sandbox lacks: a global that a ReferenceError names; one that
// the script reads through globalThis (or crypto.subtle) where a
// TypeError points, as goja's messages do not name it; or what a refusal
// of the sandbox's own names. "" if the throw is the code's own.
func (s *sandbox) lacks(message string, stack []goja.StackFrame) string {
	if m := notDefined.FindStringSubmatch(message); m != nil {
		if slices.Contains(platformGlobals, m[1]) {
			return m[1]
		}
		return ""
	}
	if m := refused.FindStringSubmatch(message); m != nil {
		return m[1]
	}
	if !strings.HasPrefix(message, "TypeError: ") {
		return ""
	}
	for _, f := range stack {
		if p := f.Position(); p.Filename != "" && p.Line > 0 {
			if p.Filename != Outfile {
				return "" // code that eval compiled, or a built-in
			}
			return s.platformMember(p.Line, p.Column)
		}
	}
	return ""
}

// platformMember returns the global of platformGlobals that the script
// reads at line:col through globalThis, or crypto.subtle, or "". goja
// points a TypeError at the name of the member that is undefined
// (globalThis.crypto.|subtle.digest()), at the call of one that is not a
// function (globalThis.fetch|()), or at the new of one that is not a
// constructor (|new globalThis.URL()).
func (s *sandbox) platformMember(line, col int) string {
	lines := bytes.SplitN(s.source.script, []byte("\n"), line+1)
	if line < 1 || line > len(lines) || col < 1 || col > len(lines[line-1])+1 {
		return ""
	}
	text := string(lines[line-1])
	before, at := text[:col-1], text[col-1:]
	if len(before) > 256 {
		before = before[len(before)-256:]
	}
	var expr string
	if m := newAt.FindStringSubmatch(at); m != nil {
		expr = m[1]
	} else if m := memberBefore.FindStringSubmatch(before + identAt.FindString(at)); m != nil {
		expr = m[1]
	}
	parts := strings.Split(strings.NewReplacer(" ", "", "\t", "", "?", "").Replace(expr), ".")
	rooted := parts[0] == "globalThis"
	if rooted {
		parts = parts[1:]
	}
	switch {
	case len(parts) >= 2 && slices.Contains(platformGlobals, parts[0]+"."+parts[1]):
		return parts[0] + "." + parts[1]
	case rooted && len(parts) >= 1 && slices.Contains(platformGlobals, parts[0]):
		return parts[0]
	}
	return ""
}

// fill fills an integer typed array with bytes from the random source
// that Math.random reads, for crypto.getRandomValues, which has checked
// its type and size.
func (s *sandbox) fill(b []byte) {
	var r uint64
	for i := range b {
		if i%8 == 0 {
			r = s.rand.Uint64()
		}
		b[i] = byte(r)
		r >>= 8
	}
}

// encodeInto writes the UTF-8 of src into dst while it fits, as
// TextEncoder.encodeInto does, and returns the UTF-16 code units read and
// the bytes written. goja gives src with each lone surrogate as U+FFFD, as
// the web platform's conversion to a USVString does.
func encodeInto(src string, dst []byte) [2]int {
	var read, written int
	for _, r := range src {
		if written+utf8.RuneLen(r) > len(dst) {
			break
		}
		written += utf8.EncodeRune(dst[written:], r)
		read += utf16.RuneLen(r)
	}
	return [2]int{read, written}
}

// textDecoder is a TextDecoder's UTF-8 decoder, which decodes as the
// Encoding Standard's does: each maximal invalid subsequence becomes one
// U+FFFD, or a TypeError if fatal; a byte order mark that starts the
// text is dropped unless ignoreBOM. Between the calls of one stream it
// keeps an incomplete sequence at the end and whether a BOM may still come.
type textDecoder struct {
	vm                        *goja.Runtime
	fatal, ignoreBOM, bomSeen bool
	pending                   []byte
}

func (s *sandbox) newDecoder(fatal, ignoreBOM bool) *textDecoder {
	return &textDecoder{vm: s.vm, fatal: fatal, ignoreBOM: ignoreBOM, bomSeen: ignoreBOM}
}

// Decode decodes input, the bytes of an ArrayBuffer or a view of one (nil
// for undefined); if stream, more of the stream is to come.
func (d *textDecoder) Decode(input []byte, stream bool) string {
	b, bomSeen := append(d.pending, input...), d.bomSeen
	// A call that is not part of a stream ends it; so does a throw.
	d.pending, d.bomSeen = nil, d.ignoreBOM
	var text strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			if !utf8.FullRune(b) && stream {
				d.pending = slices.Clone(b)
				break
			}
			if d.fatal {
				panic(d.vm.NewTypeError("The encoded data is not valid UTF-8"))
			}
			// The maximal subsequence that some character starts with,
			// or at the end, what is left of one.
			for n < len(b) && !utf8.FullRune(b[:n+1]) {
				n++
			}
		}
		if bomSeen || r != '\uFEFF' {
			text.WriteRune(r)
		}
		bomSeen = true
		b = b[n:]
	}
	if stream {
		d.bomSeen = bomSeen
	}
	return text.String()
}
