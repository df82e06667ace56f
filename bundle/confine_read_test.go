package bundle

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sizedInfo is a file's information with the size it had when it was
// opened, for a file that has grown since.
type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (s sizedInfo) Size() int64 { return s.size }

// TestReadAll reads files whose size is what Stat said, and files that grew
// after it: all of their text up to the cap, and a violation past it.
func TestReadAll(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name     string
		size     int   // the file's size
		statSize int64 // the size Stat gave, before it grew
		over     bool
	}{
		{"empty", 0, 0, false},
		{"as stated", 1000, 1000, false},
		{"grew from nothing", 70_000, 0, false},
		{"grew", 70_000, 100, false},
		{"at the cap", maxFileBytes, maxFileBytes, false},
		{"grew past the cap", maxFileBytes + 1, 10, true},
		{"past the cap", maxFileBytes + 1, maxFileBytes + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := strings.Repeat("0123456789abcdef", tt.size/16+1)[:tt.size]
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(f, sizedInfo{fi, tt.statSize})
			var v *violation
			if tt.over {
				if !errors.As(err, &v) {
					t.Fatalf("err = %v, want a violation", err)
				}
				return
			}
			if err != nil || got != want {
				t.Fatalf("readAll = %d bytes, %v; want the file's %d bytes", len(got), err, len(want))
			}
		})
	}
}
