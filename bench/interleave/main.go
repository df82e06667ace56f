// Command interleave times several commands as whole processes, one run of
// each per round, so that a machine whose load drifts (a shared CI runner, a
// laptop) slows every candidate alike rather than whichever ran last. The
// order rotates from round to round. It prints one line of medians per
// command:
//
//	interleave -runs 10 -- cli ./esbuild in.ts --bundle --- sb ./sbdeploy --dry-run ...
//	name=cli runs=10 wall_ms=… wall_min_ms=… cpu_ms=… peak_rss_kb=… page_faults=…
//	name=sb runs=10 wall_ms=… wall_min_ms=… cpu_ms=… peak_rss_kb=… page_faults=… ratio=…
//
// Commands are separated by "---"; the first word of each is its name.
// ratio is the command's median wall time over the first command's. Every
// run must exit 0, or interleave fails and shows the run's output. cpu_ms
// (user and system time) and page_faults (minor faults) vary less than wall
// times on a busy machine. -json writes every sample too.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"

	"sbdeploy/internal/testkit/procrun"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "interleave:", err)
		os.Exit(1)
	}
}

// candidate is one command and what its runs measured.
type candidate struct {
	Name   string    `json:"name"`
	Args   []string  `json:"args"`
	Wall   []float64 `json:"wall_ms"`
	CPU    []float64 `json:"cpu_ms"`
	RSS    []float64 `json:"peak_rss_kb"`
	Faults []float64 `json:"page_faults"`
}

func run() error {
	runs := flag.Int("runs", 10, "measured runs of each command")
	warmup := flag.Int("warmup", 1, "rounds before the measured ones, not counted")
	jsonOut := flag.String("json", "", "also write every sample to this file")
	flag.Parse()
	cands, err := parse(flag.Args())
	if err != nil {
		return err
	}
	for round := range *warmup + *runs {
		for i := range cands {
			c := &cands[(round+i)%len(cands)]
			if err := c.runOnce(round >= *warmup); err != nil {
				return err
			}
		}
	}
	first := procrun.Median(cands[0].Wall)
	for i, c := range cands {
		fmt.Printf("name=%s runs=%d wall_ms=%.2f wall_min_ms=%.2f cpu_ms=%.2f peak_rss_kb=%.0f page_faults=%.0f",
			c.Name, len(c.Wall), procrun.Median(c.Wall), slices.Min(c.Wall), procrun.Median(c.CPU), procrun.Median(c.RSS), procrun.Median(c.Faults))
		if i > 0 {
			fmt.Printf(" ratio=%.3f", procrun.Median(c.Wall)/first)
		}
		fmt.Println()
	}
	if *jsonOut != "" {
		data, err := json.MarshalIndent(cands, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
	}
	return nil
}

// parse splits the arguments into commands at each "---".
func parse(args []string) ([]candidate, error) {
	var cands []candidate
	for {
		words, rest, more := args, []string(nil), false
		if i := slices.Index(args, "---"); i >= 0 {
			words, rest, more = args[:i], args[i+1:], true
		}
		if len(words) < 2 {
			return nil, errors.New("usage: interleave [-runs N] -- NAME CMD ARGS... [--- NAME CMD ARGS...]")
		}
		cands = append(cands, candidate{Name: words[0], Args: words[1:]})
		if !more {
			return cands, nil
		}
		args = rest
	}
}

// runOnce runs the command once and, if keep, records what it measured.
func (c *candidate) runOnce(keep bool) error {
	r, err := procrun.Run(c.Args)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	if keep {
		c.Wall, c.CPU = append(c.Wall, r.Wall), append(c.CPU, r.CPU)
		c.RSS, c.Faults = append(c.RSS, r.RSS), append(c.Faults, r.Faults)
	}
	return nil
}
