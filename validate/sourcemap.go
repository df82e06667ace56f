package validate

import (
	"bytes"
	"encoding/base64"

	"github.com/go-sourcemap/sourcemap"
)

// source is the script and its inline sourcemap, which is parsed only when
// an error needs a position: parsing it costs more than a passing check
// saves by having it (goja would parse it on every run), and goja's own
// mapping is off by one column both ways.
type source struct {
	script []byte
	parsed bool
	sm     *sourcemap.Consumer // nil if the script has no usable sourcemap
}

// original maps a position in the script to the original source, when the
// script's inline sourcemap covers it; other positions come back unchanged.
func (src *source) original(p Position) Position {
	if p.File != Outfile {
		return p // code that eval or Function compiled has its own name
	}
	if !src.parsed {
		src.sm, src.parsed = inlineSourceMap(src.script), true
	}
	if src.sm == nil {
		return p
	}
	// go-sourcemap counts columns from 0, goja from 1.
	file, _, line, col, ok := src.sm.Source(p.Line, p.Column-1)
	if !ok || file == "" {
		return p
	}
	return Position{File: file, Line: line, Column: col + 1}
}

// inlineSourceMap parses the sourcemap that esbuild's SourceMapInline puts
// on the script's last line, or returns nil if there is none.
func inlineSourceMap(script []byte) *sourcemap.Consumer {
	const prefix = "\n//# sourceMappingURL=data:application/json;base64,"
	i := bytes.LastIndex(script, []byte(prefix))
	if i < 0 {
		return nil
	}
	data, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(script[i+len(prefix):])))
	if err != nil {
		return nil
	}
	sm, _ := sourcemap.Parse("", data) // nil if it does not parse
	return sm
}
