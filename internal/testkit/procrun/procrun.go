// Package procrun runs a command as a whole process and measures it, for
// the benchmark tools in bench/ and the tests that bound a run's memory.
package procrun

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
func Run(args []string) (Sample, error) { return run(args, false) }

// RunTree is Run, with RSS the peak of the whole process tree (the command
// and the processes it starts, added up), sampled every 2 ms; the kernel's
// figure is only the largest single process's.
func RunTree(args []string) (Sample, error) { return run(args, true) }

func run(args []string, tree bool) (Sample, error) {
	cmd := exec.Command(args[0], args[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	s := Sample{Start: time.Now()}
	err := cmd.Start()
	var peak func() float64
	if err == nil {
		if tree {
			peak = TreePeak(cmd.Process.Pid)
		}
		err = cmd.Wait()
	}
	s.Wall = MS(time.Since(s.Start))
	if err != nil {
		return s, fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	s.CPU = MS(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime())
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.RSS = float64(ru.Maxrss) // KiB on Linux
		s.Faults = float64(ru.Minflt)
	}
	if peak != nil {
		s.RSS = max(s.RSS, peak())
	}
	return s, nil
}

// TreePeak samples the resident memory of pid and the processes below it
// until pid exits, and returns a func that waits for that and reports the
// largest sum seen, in KiB.
func TreePeak(pid int) func() float64 {
	var peak float64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			kb, alive := treeKB(pid)
			if !alive {
				return
			}
			peak = max(peak, kb)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return func() float64 {
		<-done
		return peak
	}
}

// treeKB is the resident memory of pid and its descendants in KiB, and
// whether pid still runs (and is not a zombie).
func treeKB(pid int) (float64, bool) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil || bytes.Contains(status, []byte("State:\tZ")) {
		return 0, false
	}
	var kb float64
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			kb += n
		}
	}
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, f := range tasks {
		children, _ := os.ReadFile(f)
		for _, c := range strings.Fields(string(children)) {
			if child, err := strconv.Atoi(c); err == nil {
				n, _ := treeKB(child)
				kb += n
			}
		}
	}
	return kb, true
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
