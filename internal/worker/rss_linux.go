package worker

import (
	"fmt"
	"os"
	"strconv"
)

// residentBytes is the resident memory of the process pid, or 0 if it
// cannot be read (it has exited).
func residentBytes(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	var size, pages int64 // statm's first two fields, in pages
	if _, err := fmt.Sscan(string(data), &size, &pages); err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
