package bundle

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads JSON as encoding/json reads it into a
// map[string]json.RawMessage, a []json.RawMessage or a string, but in one
// pass and without copies: a value is returned as its text, a substring of
// the input. package.json files can be large (date-fns's "exports" lists
// every function), and the confiner reads every package's, in every build;
// BenchmarkPackageJSON compares this with encoding/json.
//
// FuzzJSONSpans checks that every function here agrees with encoding/json,
// invalid input included, but for two differences, both esbuild's reading:
// of members with the same name, jsonMembers keeps the first; a lone
// surrogate escape is kept as its WTF-8 bytes, not made U+FFFD.

// maxJSONDepth is encoding/json's limit on nesting: deeper input is invalid.
const maxJSONDepth = 10000

// jsonMembers returns the members of the JSON object s, each value as its
// text; of members with the same name, the first, which is the one
// esbuild's resolver reads (getProperty), where encoding/json keeps the
// last. ok is false if s is not
// one valid JSON value, or is one that is not an object; null is no
// members, as it is for encoding/json.
func jsonMembers(s string) (members map[string]string, ok bool) {
	r := jsonReader{s: s}
	r.space()
	if r.literal("null") {
		return nil, r.end()
	}
	members = map[string]string{}
	ok = r.object(func(key string, value string) {
		if _, dup := members[key]; !dup {
			members[key] = value
		}
	})
	return members, ok && r.end()
}

// jsonMembersAll is jsonMembers, but a name that several members share
// has all their values, as the text of a JSON array of them: for the
// confiner, which checks every target that esbuild may pick, where esbuild
// reads a repeated member in ways that differ by field (the first for
// getProperty, every one in order for "exports" conditions, the last for
// a "browser" map).
func jsonMembersAll(s string) (members map[string]string, ok bool) {
	r := jsonReader{s: s}
	r.space()
	if r.literal("null") {
		return nil, r.end()
	}
	all := map[string][]string{}
	ok = r.object(func(key string, value string) { all[key] = append(all[key], value) })
	members = make(map[string]string, len(all))
	for key, values := range all {
		if len(values) == 1 {
			members[key] = values[0]
		} else {
			members[key] = "[" + strings.Join(values, ",") + "]"
		}
	}
	return members, ok && r.end()
}

// jsonElements returns the elements of the JSON array s, each as its text.
// ok is false if s is not one valid JSON value, or is one that is not an
// array; null is no elements.
func jsonElements(s string) (elements []string, ok bool) {
	r := jsonReader{s: s}
	r.space()
	if r.literal("null") {
		return nil, r.end()
	}
	elements = []string{}
	if !r.arrayAt(1, func(e string) { elements = append(elements, e) }) {
		return nil, false
	}
	return elements, r.end()
}

// jsonString returns the JSON string s, decoded. ok is false if s is not
// one valid JSON value, or is one that is not a string; null is "".
func jsonString(s string) (string, bool) {
	r := jsonReader{s: s}
	r.space()
	if r.literal("null") {
		return "", r.end()
	}
	if r.i == len(r.s) || r.s[r.i] != '"' {
		return "", false
	}
	v, ok := r.str()
	return v, ok && r.end()
}

// jsonReader reads JSON text s from i on.
type jsonReader struct {
	s string
	i int
}

// end reports whether only white space is left.
func (r *jsonReader) end() bool {
	r.space()
	return r.i == len(r.s)
}

func (r *jsonReader) space() {
	i, s := r.i, r.s
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	r.i = i
}

// next consumes the byte c if s continues with it.
func (r *jsonReader) next(c byte) bool {
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

// literal consumes lit if s continues with it.
func (r *jsonReader) literal(lit string) bool {
	if !strings.HasPrefix(r.s[r.i:], lit) {
		return false
	}
	r.i += len(lit)
	return true
}

// object reads an object at depth 1, calling member with each member's name
// and value text, and reports whether it was valid.
func (r *jsonReader) object(member func(key, value string)) bool {
	return r.objectAt(1, member)
}

func (r *jsonReader) objectAt(depth int, member func(key, value string)) bool {
	if depth > maxJSONDepth || !r.next('{') {
		return false
	}
	r.space()
	if r.next('}') {
		return true
	}
	for {
		if r.i == len(r.s) || r.s[r.i] != '"' {
			return false
		}
		key, ok := r.str()
		if !ok {
			return false
		}
		r.space()
		if !r.next(':') {
			return false
		}
		r.space()
		start := r.i
		if !r.value(depth + 1) {
			return false
		}
		if member != nil {
			member(key, r.s[start:r.i])
		}
		r.space()
		if r.next('}') {
			return true
		}
		if !r.next(',') {
			return false
		}
		r.space()
	}
}

// arrayAt reads an array at depth, calling element (if not nil) with each
// element's text, and reports whether it was valid.
func (r *jsonReader) arrayAt(depth int, element func(value string)) bool {
	if depth > maxJSONDepth || !r.next('[') {
		return false
	}
	r.space()
	if r.next(']') {
		return true
	}
	for {
		start := r.i
		if !r.value(depth + 1) {
			return false
		}
		if element != nil {
			element(r.s[start:r.i])
		}
		r.space()
		if r.next(']') {
			return true
		}
		if !r.next(',') {
			return false
		}
		r.space()
	}
}

// value reads one value at the given depth (of the containers it is in,
// plus one), and reports whether it was valid.
func (r *jsonReader) value(depth int) bool {
	if r.i == len(r.s) {
		return false
	}
	switch c := r.s[r.i]; {
	case c == '{':
		return r.objectAt(depth, nil)
	case c == '[':
		return r.arrayAt(depth, nil)
	case c == '"':
		return r.skipString()
	case c == '-' || c >= '0' && c <= '9':
		return r.number()
	default:
		return r.literal("true") || r.literal("false") || r.literal("null")
	}
}

// number reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *jsonReader) number() bool {
	r.next('-')
	switch {
	case r.next('0'):
	case r.i < len(r.s) && r.s[r.i] >= '1' && r.s[r.i] <= '9':
		r.digits()
	default:
		return false
	}
	if r.next('.') && !r.digits() {
		return false
	}
	if r.next('e') || r.next('E') {
		if !r.next('+') {
			r.next('-')
		}
		if !r.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more digits.
func (r *jsonReader) digits() bool {
	start := r.i
	for r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9' {
		r.i++
	}
	return r.i > start
}

// skipString reads a string without decoding it.
func (r *jsonReader) skipString() bool {
	i, s := r.i+1, r.s // after the opening quote
	for i < len(s) {
		switch c := s[i]; {
		case c == '"':
			r.i = i + 1
			return true
		case c == '\\':
			r.i = i
			if !r.escape(nil) {
				return false
			}
			i = r.i
		case c < 0x20:
			return false
		default:
			i++
		}
	}
	return false
}

// str reads a string and decodes it as encoding/json does: a byte that is
// not UTF-8, and a \u escape of a lone surrogate, become U+FFFD.
func (r *jsonReader) str() (string, bool) {
	start := r.i + 1
	if !r.skipString() {
		return "", false
	}
	raw := r.s[start : r.i-1]
	if !strings.ContainsRune(raw, '\\') && utf8.ValidString(raw) {
		return raw, true
	}
	var b strings.Builder
	d := jsonReader{s: raw}
	for d.i < len(raw) {
		switch c := raw[d.i]; {
		case c == '\\':
			d.escape(&b)
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			d.i++
		default:
			cp, size := utf8.DecodeRuneInString(raw[d.i:])
			b.WriteRune(cp) // U+FFFD for a byte that is not UTF-8
			d.i += size
		}
	}
	return b.String(), true
}

// escape reads the escape at i (a backslash), writing what it stands for
// to b if b is not nil.
func (r *jsonReader) escape(b *strings.Builder) bool {
	r.i++ // the backslash
	if r.i == len(r.s) {
		return false
	}
	c := r.s[r.i]
	r.i++
	var out rune
	var lone uint16 // a surrogate with no partner, for out < 0
	switch c {
	case '"', '\\', '/':
		out = rune(c)
	case 'b':
		out = '\b'
	case 'f':
		out = '\f'
	case 'n':
		out = '\n'
	case 'r':
		out = '\r'
	case 't':
		out = '\t'
	case 'u':
		u, ok := r.hex4()
		if !ok {
			return false
		}
		out = rune(u)
		if utf16.IsSurrogate(out) {
			out, lone = -1, u
			// A high surrogate and the low one that follows it are one
			// character; anything else leaves the surrogate alone.
			if rest := r.s[r.i:]; strings.HasPrefix(rest, `\u`) {
				save := r.i
				r.i += 2
				if lo, ok := r.hex4(); ok {
					if pair := utf16.DecodeRune(rune(u), rune(lo)); pair != utf8.RuneError {
						out = pair
					} else {
						r.i = save
					}
				} else {
					r.i = save
				}
			}
		}
	default:
		return false
	}
	switch {
	case b == nil:
	case out < 0:
		writeLone(b, lone)
	default:
		b.WriteRune(out)
	}
	return true
}

// writeLone writes the lone surrogate u as esbuild keeps it: a path holding
// one is these bytes (WTF-8), where encoding/json writes U+FFFD, and paths
// must be what esbuild opens.
func writeLone(b *strings.Builder, u uint16) {
	b.Write([]byte{0xE0 | byte(u>>12), 0x80 | byte(u>>6)&0x3F, 0x80 | byte(u)&0x3F})
}

// hex4 reads four hex digits.
func (r *jsonReader) hex4() (uint16, bool) {
	if r.i+4 > len(r.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(r.s[r.i:r.i+4], 16, 16)
	if err != nil {
		return 0, false
	}
	r.i += 4
	return uint16(v), true
}

// strings reads one value at the given depth, as value does, and appends
// every string in it, however deep, but not the names of members, to out.
func (r *jsonReader) strings(depth int, out *[]string) bool {
	if depth > maxJSONDepth || r.i == len(r.s) {
		return false
	}
	switch r.s[r.i] {
	case '"':
		s, ok := r.str()
		if ok {
			*out = append(*out, s)
		}
		return ok
	case '{', '[':
		closing, isObject := byte(']'), r.s[r.i] == '{'
		if isObject {
			closing = '}'
		}
		r.i++
		r.space()
		if r.next(closing) {
			return true
		}
		for {
			if isObject {
				if r.i == len(r.s) || r.s[r.i] != '"' || !r.skipString() {
					return false
				}
				r.space()
				if !r.next(':') {
					return false
				}
				r.space()
			}
			if !r.strings(depth+1, out) {
				return false
			}
			r.space()
			if r.next(closing) {
				return true
			}
			if !r.next(',') {
				return false
			}
			r.space()
		}
	default:
		return r.value(depth)
	}
}
