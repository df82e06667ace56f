package bundle

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/gzip"
)

// GzipLevel is the compression level Gzip uses past smallCode: on any link
// faster than about 1 MB/s, the bytes a higher level would save cost less
// to send than its time (BENCHMARKS.md). Build uses level 9 only to fit a
// bundle under the service's limit (gzipSmallest).
const GzipLevel = 5

// smallCode is the largest bundle Gzip compresses statelessly instead: a
// level first allocates and clears its match tables, whatever the input's
// size, which costs a small bundle more time than its smaller output saves
// (BENCHMARKS.md).
const smallCode = 64 << 10

// Gzip compresses code at GzipLevel, or statelessly if it is small.
func Gzip(code []byte) ([]byte, error) {
	if len(code) <= smallCode {
		return gzipLevel(code, gzip.StatelessCompression)
	}
	return gzipLevel(code, GzipLevel)
}

// gzipSmallest compresses code as small as Gzip can: Build's fallback for
// a bundle whose Gzip output is over the limit.
func gzipSmallest(code []byte) ([]byte, error) {
	return gzipLevel(code, gzip.BestCompression)
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
