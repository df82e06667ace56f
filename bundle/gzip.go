package bundle

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/gzip"
)

// GzipLevel is the compression level Gzip uses. BenchmarkGzipLevel measured, on
// a 260 KB bundle: level 7 gives 39,937 bytes in 3.2 ms; level 9 gives 38,036
// bytes (5% smaller) in 21.7 ms; level 5 gives 43,277 bytes (8% larger) in
// 1.4 ms. Level 7 keeps nearly all of the best ratio, which is headroom under
// the 1,000,000-byte limit, at a seventh of level 9's time.
const GzipLevel = 7

// smallCode is the largest bundle Gzip compresses statelessly instead. Level
// 7 first allocates and clears about 1 MB of match tables, whatever the
// input's size: on the 354-byte example migration it took 1.5 ms and 993 KiB
// to make 254 bytes, where stateless compression takes 12 us and 15 KiB to
// make 260 (BenchmarkGzip/example, before and after). On real minified code
// up to 16 KiB, stateless output is 4-11% larger: at most about 700 bytes,
// less to send than the time saved on any link faster than 1 MB/s. Past
// that, level 7's ratio wins.
const smallCode = 16 << 10

// Gzip compresses code at GzipLevel, or statelessly if it is small.
func Gzip(code []byte) ([]byte, error) {
	if len(code) <= smallCode {
		return gzipLevel(code, gzip.StatelessCompression)
	}
	return gzipLevel(code, GzipLevel)
}

func gzipLevel(code []byte, level int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(code)/3 + 64)
	w, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		return nil, fmt.Errorf("bundle: gzip: %w", err)
	}
	if _, err := w.Write(code); err != nil {
		return nil, fmt.Errorf("bundle: gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("bundle: gzip: %w", err)
	}
	return buf.Bytes(), nil
}
