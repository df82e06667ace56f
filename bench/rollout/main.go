// Command rollout measures mode upgrade's rollout against the emulator in
// process: instances a second against the round trip and the instance
// count, and under a rate limit the time against the ideal and the share
// of requests refused. Each case prints one line:
//
//	case instances rtt_ms rate_limit seconds per_second ideal_seconds refused_share peak_limit
//
// Run it with: go run ./bench/rollout [-quick]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
)

const token = "sbbench_token"

// benchCase is one rollout to measure.
type benchCase struct {
	name      string
	instances int
	rtt       time.Duration
	capacity  int     // requests the server serves at once; 0: no bound
	rate      float64 // requests a second; 0: no limit
}

func main() {
	quick := flag.Bool("quick", false, "only the smaller cases")
	flag.Parse()
	cases := []benchCase{
		{"rtt", 20_000, 0, 0, 0},
		{"rtt", 20_000, 20 * time.Millisecond, 0, 0},
		{"rtt", 20_000, 40 * time.Millisecond, 0, 0},
		{"rtt", 20_000, 100 * time.Millisecond, 0, 0},
		// A server that serves 1,000 a second: 40 at once, 40 ms each.
		{"capacity", 20_000, 40 * time.Millisecond, 40, 0},
		{"ratelimit", 5_000, 40 * time.Millisecond, 0, 300},
		{"count", 1_000, 0, 0, 0},
		{"count", 10_000, 0, 0, 0},
		{"count", 100_000, 0, 0, 0},
	}
	if !*quick {
		cases = append(cases, benchCase{"count", 1_000_000, 0, 0, 0})
	}
	fmt.Println("case instances rtt_ms rate_limit seconds per_second ideal_seconds refused_share peak_limit")
	for _, c := range cases {
		if err := run(c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// run rolls c.instances out from ver_1 to ver_2 and prints the line.
func run(c benchCase) error {
	names := make([]string, c.instances)
	for i := range names {
		names[i] = fmt.Sprintf("i-%07d", i)
	}
	em := emulator.New(emulator.Config{
		Token:      token,
		Machines:   map[string][]string{"m": {"ver_1", "ver_2"}},
		Instances:  map[string][]string{"m": names},
		Migrations: map[string][][2]string{"m": {{"ver_1", "ver_2"}}},
		NoRecord:   true,
		Latency:    c.rtt, Capacity: c.capacity, RateLimit: c.rate,
	})
	names = nil
	url, stop, err := em.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer stop()
	client, err := deploy.New(url, token)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	res, err := client.Rollout(context.Background(), deploy.Rollout{Machine: "m", To: "ver_2"})
	if err != nil {
		return fmt.Errorf("%s %d: %w", c.name, c.instances, err)
	}
	if res.Asked != c.instances {
		return fmt.Errorf("%s %d: asked %d", c.name, c.instances, res.Asked)
	}
	th := res.Throttling
	ideal := 0.0
	if c.rate > 0 {
		ideal = float64(c.instances) / c.rate
	}
	fmt.Printf("%s %d %d %.0f %.2f %.0f %.1f %.3f %d\n", c.name, c.instances, c.rtt.Milliseconds(), c.rate,
		res.Took.Seconds(), float64(res.Asked)/res.Took.Seconds(), ideal, float64(th.TooMany)/float64(th.Attempts), th.PeakLimit)
	return nil
}
