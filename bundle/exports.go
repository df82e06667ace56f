package bundle

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads the names a bundle exports from the bundle itself. esbuild
// ends an ES module entry point's output with one statement that exports
// everything the module exports (linker.generateEntryPointTailJS):
//
//	export{r as default,a as upgradeContext,n as"a name"};
//
// or, for a CommonJS entry point, "export default require_x();". Nothing
// else in a bundle is an export clause: esbuild turns every module's export
// statements into that one, and an "export*from" of an external module
// stays where it was, with names that no one can know before run time.
//
// Reading that statement costs microseconds. Asking esbuild for the
// metafile, which lists the same names, costs it a JSON document describing
// every input (BENCHMARKS.md has the figures), so Build asks for one only
// when the code does not end with a statement that this file can read.
//
// The names are the output's: a re-export that esbuild drops because it is
// ambiguous (two "export *" of the same name) is in the metafile's list but
// not in the module, and not here.

// outputExports returns the names that code, an ES module that esbuild
// wrote, exports, sorted. ok is false if code does not end with an export
// statement that outputExports can read; the caller must then ask
// esbuild's metafile. Empty code exports nothing.
func outputExports(code []byte) (names []string, ok bool) {
	s := bytes.TrimSuffix(code, []byte("\n"))
	if len(s) == 0 {
		return []string{}, true
	}
	// An export clause can hold a string name with "export{" in it, so each
	// "export{" that starts a statement is tried, from the last, until one
	// reads to the end of the code. One in a string name cannot: it reads
	// the string's closing quote as an opening one, or its escapes as
	// bytes that no clause holds.
	for end := len(s); end > 0; {
		i := bytes.LastIndex(s[:end], []byte("export{"))
		if i < 0 {
			break
		}
		if startsStatement(s, i) {
			if names, ok := readClause(s[i+len("export{"):]); ok {
				slices.Sort(names)
				return names, true
			}
		}
		end = i
	}
	if commonJSTail(s) {
		return []string{"default"}, true
	}
	return nil, false
}

// commonJSTail reports whether code, an ES module that esbuild wrote, ends
// as the output of a CommonJS entry point does: "export default
// require_x();", the entry's module.exports. An ES module entry point's
// output ends with an export clause even for a default export
// (TestEntryExtensions checks it against the format that esbuild's metafile
// gives the entry).
func commonJSTail(code []byte) bool {
	s := bytes.TrimSuffix(code, []byte("\n"))
	i := bytes.LastIndex(s, []byte("export default "))
	if i < 0 || !startsStatement(s, i) {
		return false
	}
	r := tail{s: s[i+len("export default "):]}
	_, ok := r.identifier()
	return ok && r.literal("()") && r.end()
}

// startsStatement reports whether s[i:] is at the start of a statement of
// esbuild's minified output: the start of the code, or after a ";", a "}"
// or a line break. An "export{" after anything else is inside a string,
// or the end of a name ("class extends myexport{...}").
func startsStatement(s []byte, i int) bool {
	return i == 0 || bytes.IndexByte([]byte(";}\n"), s[i-1]) >= 0
}

// readClause reads the items of an export clause, s being what follows
// "export{" to the end of the code, and returns their exported names. ok
// is false unless s is exactly items, "}" and ";".
func readClause(s []byte) (names []string, ok bool) {
	r := tail{s: s}
	names = []string{}
	r.space()
	if r.literal("}") {
		return names, r.end()
	}
	for {
		r.space()
		name, ok := r.identifier() // the local name, or the exported one if there is no "as"
		if !ok {
			return nil, false
		}
		r.space()
		if keyword, ok := r.peekIdentifier(); ok && keyword == "as" {
			r.i += len("as")
			r.space()
			if name, ok = r.moduleExportName(); !ok {
				return nil, false
			}
			r.space()
		}
		names = append(names, name)
		switch {
		case r.literal(","):
		case r.literal("}"):
			return names, r.end()
		default:
			return nil, false
		}
	}
}

// tail reads the tokens of an export statement from s, from i on.
type tail struct {
	s []byte
	i int
}

// end reports whether only ";" and white space are left.
func (r *tail) end() bool {
	r.space()
	if !r.literal(";") {
		return false
	}
	r.space()
	return r.i == len(r.s)
}

func (r *tail) space() {
	for r.i < len(r.s) && strings.IndexByte(" \t\n\r", r.s[r.i]) >= 0 {
		r.i++
	}
}

// literal consumes lit if s continues with it.
func (r *tail) literal(lit string) bool {
	if !bytes.HasPrefix(r.s[r.i:], []byte(lit)) {
		return false
	}
	r.i += len(lit)
	return true
}

// moduleExportName reads an exported name: an identifier name or a string.
func (r *tail) moduleExportName() (string, bool) {
	if r.i < len(r.s) && (r.s[r.i] == '"' || r.s[r.i] == '\'') {
		return r.str()
	}
	return r.identifier()
}

// peekIdentifier returns the identifier name that s continues with, as it
// is written, without consuming it.
func (r *tail) peekIdentifier() (string, bool) {
	j := r.i
	for j < len(r.s) && isIdentifierByte(r.s[j], j > r.i) {
		j++
	}
	return string(r.s[r.i:j]), j > r.i
}

// isIdentifierByte reports whether b can be part of an identifier name,
// as its first byte if !notFirst. esbuild prints names in ASCII, with \u
// escapes for the rest.
func isIdentifierByte(b byte, notFirst bool) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b == '$' ||
		notFirst && b >= '0' && b <= '9'
}

// identifier reads an identifier name (an export may be named "default" or
// any other reserved word), decoding its \u escapes.
func (r *tail) identifier() (string, bool) {
	var b strings.Builder
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case isIdentifierByte(c, b.Len() > 0):
			b.WriteByte(c)
			r.i++
		case c == '\\' && r.literal(`\u`):
			cp, ok := r.codePoint()
			if !ok {
				return "", false
			}
			b.WriteRune(cp)
		default:
			return b.String(), b.Len() > 0 && c < utf8.RuneSelf
		}
	}
	return b.String(), b.Len() > 0
}

// str reads a string literal, decoding the escapes that esbuild prints
// (js_printer's printUnquotedUTF16). It refuses what esbuild does not
// print in ASCII output: bytes past ASCII, line continuations, legacy
// octal escapes, and a lone surrogate, which no export name may hold.
func (r *tail) str() (string, bool) {
	quote := r.s[r.i]
	r.i++
	var units []uint16 // UTF-16, as in JavaScript: a surrogate pair may be two \u escapes
	for r.i < len(r.s) {
		c := r.s[r.i]
		r.i++
		switch {
		case c == quote:
			return decodeUTF16(units)
		case c == '\n' || c == '\r' || c >= utf8.RuneSelf:
			return "", false
		case c != '\\':
			units = append(units, uint16(c))
		case r.i == len(r.s):
			return "", false
		default:
			var ok bool
			if units, ok = r.escape(units); !ok {
				return "", false
			}
		}
	}
	return "", false
}

// escape reads the escape that follows a backslash in a string, and
// appends what it stands for to units.
func (r *tail) escape(units []uint16) ([]uint16, bool) {
	e := r.s[r.i]
	r.i++
	switch e {
	case 'b':
		return append(units, '\b'), true
	case 'f':
		return append(units, '\f'), true
	case 'n':
		return append(units, '\n'), true
	case 'r':
		return append(units, '\r'), true
	case 't':
		return append(units, '\t'), true
	case 'v':
		return append(units, '\v'), true
	case '0':
		if r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9' {
			return nil, false
		}
		return append(units, 0), true
	case 'x':
		v, ok := r.hex(2)
		return append(units, uint16(v)), ok
	case 'u':
		if r.i < len(r.s) && r.s[r.i] == '{' {
			cp, ok := r.codePoint()
			return utf16.AppendRune(units, cp), ok
		}
		v, ok := r.hex(4)
		return append(units, uint16(v)), ok
	}
	if e >= '1' && e <= '9' || e == '\n' || e == '\r' || e >= utf8.RuneSelf {
		return nil, false
	}
	return append(units, uint16(e)), true // \\ \' \" \` \$ \/
}

// codePoint reads what follows `\u`: four hex digits, or hex digits in
// braces. A surrogate is refused: esbuild writes a code point past U+FFFF
// in braces.
func (r *tail) codePoint() (rune, bool) {
	var v uint32
	if r.literal("{") {
		j := bytes.IndexByte(r.s[r.i:], '}')
		if j < 1 || j > 6 {
			return 0, false
		}
		var ok bool
		if v, ok = r.hex(j); !ok || !r.literal("}") {
			return 0, false
		}
	} else {
		var ok bool
		if v, ok = r.hex(4); !ok {
			return 0, false
		}
	}
	cp := rune(v)
	return cp, cp <= utf8.MaxRune && !utf16.IsSurrogate(cp)
}

// hex reads n hex digits.
func (r *tail) hex(n int) (uint32, bool) {
	if r.i+n > len(r.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(r.s[r.i:r.i+n]), 16, 32)
	if err != nil {
		return 0, false
	}
	r.i += n
	return uint32(v), true
}

// decodeUTF16 returns units as UTF-8; a lone surrogate is refused.
func decodeUTF16(units []uint16) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(units); i++ {
		u := rune(units[i])
		if utf16.IsSurrogate(u) {
			if i+1 == len(units) {
				return "", false
			}
			u = utf16.DecodeRune(u, rune(units[i+1]))
			if u == utf8.RuneError {
				return "", false
			}
			i++
		}
		b.WriteRune(u)
	}
	return b.String(), true
}
