package bundle

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/gzip"
)

// GzipLevel is the compression level Gzip uses past smallCode. On the
// realistic apps' bundles (BenchmarkGzipLevel with BENCH_BUNDLES), level 5
// makes output 2.8% larger than level 7 did, in 58% of the time: 116,089
// bytes against 112,895 for the 500,558-byte orders bundle, in 6.8 ms
// against 11.5 ms; 106,603 against 103,892 bytes for a 476,493-byte one, in
// 5.3 ms against 9.3 ms. 3 KB more to send costs less than the time saved
// on any link faster than 1 MB/s. Level 1 would save 2.5 ms more for 18%
// more bytes, which only a link faster than 8 MB/s repays. Level 9 takes
// three times level 7's time for 2% less: Build uses it only to fit a
// bundle under the service's limit (gzipSmallest).
const GzipLevel = 5

// smallCode is the largest bundle Gzip compresses statelessly instead. A
// level first allocates and clears about 1.2 MB of match tables, whatever
// the input's size: on the 354-byte example migration level 7 took 1.5 ms
// and 993 KiB to make 254 bytes, where stateless compression takes 12 us
// and 15 KiB to make 260 (BenchmarkGzip/example). Up to 64 KiB, stateless
// output is 10-12% larger than level 5's: 1.2 KB more for the 29 KB
// reminders bundle and 1.9 KB for the 49 KB ledger one, made in 0.2-0.4 ms
// where level 5 takes 0.9-1.2 ms, and 0.6 ms more in a new process, whose
// tables are pages never touched before. That is less to send than the time
// saved on any link faster than 1.5 MB/s.
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
