package bundle

import (
	"path/filepath"
	"strconv"
	"strings"
)

// ImportKind is what an import path names, which decides what to do when
// esbuild cannot resolve it (Message.Unresolved).
type ImportKind int

// The kinds of import path.
const (
	// PathImport is a relative or absolute path, or a URL: one of the app's
	// own files.
	PathImport ImportKind = iota + 1
	// NodeImport is a module built into Node.js: "crypto", "node:crypto",
	// "fs/promises" (NodeBuiltin). StateBacked runs code in a
	// web-standards runtime that has none of them, so a bundle can import
	// one only where a package of that name is installed (npm's "buffer",
	// say).
	NodeImport
	// PackageImport is an npm package other than xstate: "lodash-es",
	// "@scope/pkg/sub".
	PackageImport
	// XstateImport is xstate, or a subpath of it ("xstate/guards"): the
	// package StateBacked provides at run time. Build leaves it to the
	// platform and never reads it; BuildCheck bundles it from the app's
	// node_modules, so only BuildCheck fails where it is not installed.
	XstateImport
)

func (k ImportKind) String() string {
	switch k {
	case PathImport:
		return "path"
	case NodeImport:
		return "Node.js built-in module"
	case PackageImport:
		return "package"
	case XstateImport:
		return "xstate"
	}
	return "ImportKind(" + strconv.Itoa(int(k)) + ")"
}

// KindOfImport says what the import path p names. It reads p alone: it
// does not look for files or packages. A URL, which esbuild keeps or
// decodes rather than looks for on disk, is a PathImport.
func KindOfImport(p string) ImportKind {
	switch {
	case p == platformPackage || strings.HasPrefix(p, platformPackage+"/"):
		return XstateImport
	case !isPackagePath(p) || filepath.IsAbs(p) || strings.HasPrefix(p, "http://") ||
		strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "data:"):
		return PathImport
	}
	if _, ok := NodeBuiltin(p); ok {
		return NodeImport
	}
	return PackageImport
}

// isPackagePath reports whether esbuild resolves the import path p as a
// package (through node_modules, "paths", "browser" or "imports") rather than
// as a path (resolver.IsPackagePath).
func isPackagePath(p string) bool {
	return !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "./") &&
		!strings.HasPrefix(p, "../") && p != "." && p != ".."
}

// NodeBuiltin returns the name of the Node.js built-in module that the
// import path p names, without the "node:" prefix: "crypto" for "crypto" and
// for "node:crypto". ok is false if p names none.
//
// A "node:" path names one whatever follows (Node.js gives that scheme to its
// own modules only, and adds modules, such as node:sqlite, under it alone);
// a bare path names one if it is in Node.js's list, nodeBuiltins. esbuild
// knows the same list, but its API does not export it: it says so only in
// the prose of a note on its "Could not resolve" error.
func NodeBuiltin(p string) (name string, ok bool) {
	if name, ok := strings.CutPrefix(p, "node:"); ok {
		return name, name != ""
	}
	return p, nodeBuiltins[p]
}

// nodeBuiltins are the modules built into Node.js that can be imported
// without the "node:" prefix: require("module").builtinModules of Node.js
// 20 (TestNodeBuiltinsAsEsbuildKnowsThem compares it with esbuild's list).
var nodeBuiltins = map[string]bool{
	"_http_agent": true, "_http_client": true, "_http_common": true, "_http_incoming": true,
	"_http_outgoing": true, "_http_server": true, "_stream_duplex": true, "_stream_passthrough": true,
	"_stream_readable": true, "_stream_transform": true, "_stream_wrap": true, "_stream_writable": true,
	"_tls_common": true, "_tls_wrap": true, "assert": true, "assert/strict": true,
	"async_hooks": true, "buffer": true, "child_process": true, "cluster": true,
	"console": true, "constants": true, "crypto": true, "dgram": true,
	"diagnostics_channel": true, "dns": true, "dns/promises": true, "domain": true,
	"events": true, "fs": true, "fs/promises": true, "http": true,
	"http2": true, "https": true, "inspector": true, "inspector/promises": true,
	"module": true, "net": true, "os": true, "path": true,
	"path/posix": true, "path/win32": true, "perf_hooks": true, "process": true,
	"punycode": true, "querystring": true, "readline": true, "readline/promises": true,
	"repl": true, "stream": true, "stream/consumers": true, "stream/promises": true,
	"stream/web": true, "string_decoder": true, "sys": true, "timers": true,
	"timers/promises": true, "tls": true, "trace_events": true, "tty": true,
	"url": true, "util": true, "util/types": true, "v8": true,
	"vm": true, "wasi": true, "worker_threads": true, "zlib": true,
}

// unresolvedPath returns the import path that esbuild's message text says
// it could not resolve, as the source writes it, or "" if the text says
// something else. esbuild writes the path with Go's %q (bundler's
// ResolveFailureErrorTextSuggestionNotes), and, if an alias changed it,
// the path as written after it:
//
//	Could not resolve "crypto"
//	Could not resolve "npm:xstate" (originally "xstate")
func unresolvedPath(text string) string {
	rest, ok := strings.CutPrefix(text, "Could not resolve ")
	if !ok {
		return ""
	}
	p, rest, ok := cutQuoted(rest)
	if !ok {
		return ""
	}
	if rest == "" {
		return p
	}
	rest, ok = strings.CutPrefix(rest, " (originally ")
	if !ok {
		return ""
	}
	original, rest, ok := cutQuoted(rest)
	if !ok || rest != ")" {
		return ""
	}
	return original
}

// cutQuoted unquotes the Go string literal that s starts with, and returns
// what follows it.
func cutQuoted(s string) (value, rest string, ok bool) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", false
	}
	value, err = strconv.Unquote(q)
	return value, s[len(q):], err == nil
}
