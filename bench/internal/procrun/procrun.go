// Package procrun runs a command as a whole process and measures it, for
// the benchmark tools in bench/.
package procrun

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Sample is what one run of a command measured: when it started, its wall
// and CPU (user and system) time in milliseconds, its peak RSS in KiB and
// its minor page faults (0 where the system reports neither).
type Sample struct {
	Start                  time.Time
	Wall, CPU, RSS, Faults float64
}

// Run runs args once. A run that does not exit 0 is an error that holds
// the command's output.
func Run(args []string) (Sample, error) {
	cmd := exec.Command(args[0], args[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	s := Sample{Start: time.Now()}
	err := cmd.Run()
	s.Wall = MS(time.Since(s.Start))
	if err != nil {
		return s, fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	s.CPU = MS(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime())
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.RSS = float64(ru.Maxrss) // KiB on Linux
		s.Faults = float64(ru.Minflt)
	}
	return s, nil
}

// MS is d in milliseconds.
func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Median is the median of xs; 0 if there are none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
