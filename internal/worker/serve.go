package worker

import (
	"bufio"
	"context"
	"errors"
	"io"
	"runtime"
	"runtime/debug"
	"sync"

	"sbdeploy/bundle"
	"sbdeploy/validate"
)

// maxStack bounds each goroutine's stack in the worker. Code nested
// millions deep overflows the parsers' recursion; Go's own bound (1 GB)
// would let that take a gigabyte before the process dies.
const maxStack = 64 << 20

// Serve is the worker: main calls it when the program runs with Arg. It
// answers the parent's requests on in and out until in ends, and returns
// the process's exit code. The first request must confine it; nothing is
// read before.
func Serve(in io.Reader, out io.Writer) int {
	debug.SetMaxStack(maxStack)
	s := &server{out: bufio.NewWriter(out)}
	r := bufio.NewReader(in)
	for {
		var req request
		if err := readFrame(r, &req); err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			return 1
		}
		if err := s.handle(req); err != nil {
			return 1
		}
	}
}

// server is the worker's side of the conversation.
type server struct {
	mu        sync.Mutex // out: progress comes from bundle's goroutine
	out       *bufio.Writer
	workspace string              // "" until confined
	migration *validate.Migration // the last plan's, for replays
}

func (s *server) send(r reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := writeReply(s.out, r); err != nil {
		return err
	}
	return s.out.Flush()
}

func (s *server) handle(req request) error {
	switch {
	case req.Confine != nil && s.workspace == "":
		how, err := confine(req.Confine.Workspace)
		if err != nil {
			return s.send(reply{Done: true, Err: toWire(err)})
		}
		s.workspace = req.Confine.Workspace
		return s.send(reply{Done: true, Confined: how})
	case s.workspace == "":
		return s.send(reply{Done: true, Err: &wireError{Text: "worker: the first request must confine the worker"}})
	case req.Build != nil:
		return s.build(req.Build)
	case req.Evaluate != nil:
		return s.evaluate(req.Evaluate)
	case req.Plan != nil:
		return s.plan(req.Plan)
	case req.Replay != nil:
		return s.replay(req.Replay)
	}
	return s.send(reply{Done: true, Err: &wireError{Text: "worker: an empty request"}})
}

// build bundles with the collector off, as esbuild's own CLI does for one
// build: nearly all it allocates lives until the build ends. The memory
// limit makes the collector run anyway near it.
func (s *server) build(b *buildRequest) error {
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	o := bundle.Options{Dir: b.Dir, Entry: b.Entry, Kind: b.Kind, Root: s.workspace, Limits: b.Limits,
		Progress: func(n int) { _ = s.send(reply{Progress: n}) }}
	res, err := bundle.Build(context.Background(), o)
	return s.send(reply{Done: true, Bundle: res, Err: toWire(err)})
}

// variant is the evaluation variant that validate.Check runs, as bundle
// builds it.
var variant = bundle.Check{GlobalName: validate.GlobalName, Outfile: validate.Outfile, Unsupported: validate.Unsupported()}

// evaluate builds the evaluation variant of the entry point and checks it.
func (s *server) evaluate(e *evaluateRequest) error {
	scripts, _, err := s.variants(e.Dir, e.Entry)
	if err != nil {
		return s.send(reply{Done: true, Err: toWire(err)})
	}
	if err := s.evaluating(); err != nil {
		return err
	}
	err = validate.Check(context.Background(), scripts[0], e.Kind, e.Options)
	return s.send(reply{Done: true, Err: toWire(err)})
}

// variants builds the evaluation variants of entries with the collector
// off, as a build runs; an error says which entry it failed on.
func (s *server) variants(dir string, entries ...string) (scripts [][]byte, failed string, err error) {
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	scripts = make([][]byte, len(entries))
	for i, entry := range entries {
		if scripts[i], err = bundle.BuildCheck(context.Background(), bundle.Options{Dir: dir, Entry: entry, Root: s.workspace}, variant); err != nil {
			return nil, entry, err
		}
	}
	return scripts, "", nil
}

// evaluating gives the memory of the builds back to the system and says
// that the evaluation starts: the parent's memory limit for an evaluation
// is lower than for a build.
func (s *server) evaluating() error {
	runtime.GC()
	debug.FreeOSMemory()
	return s.send(reply{Evaluating: true})
}

// plan describes the two machines and checks the migration between them.
// A failure says which entry point it was.
func (s *server) plan(p *planRequest) error {
	s.migration = nil
	entries := []string{p.From, p.To}
	if p.Migration != "" {
		entries = append(entries, p.Migration)
	}
	failed := func(entry string, err error) error { return s.send(reply{Done: true, Err: toWire(err), Entry: entry}) }
	scripts, entry, err := s.variants(p.Dir, entries...)
	if err != nil {
		return failed(entry, err)
	}
	if err := s.evaluating(); err != nil {
		return err
	}
	ctx, opts := context.Background(), p.Options
	var machines [2]*validate.Machine
	for i := range machines {
		if machines[i], err = validate.Describe(ctx, scripts[i], opts); err != nil {
			return failed(entries[i], err)
		}
	}
	plan := &Plan{Diff: validate.DiffOf(machines[0], machines[1]), From: machines[0], To: machines[1]}
	if p.Migration != "" {
		if s.migration, err = validate.NewMigration(ctx, scripts[2], machines[0], machines[1], opts); err == nil {
			plan.Migration, err = s.migration.Static(ctx)
		}
		if err != nil {
			return failed(p.Migration, err)
		}
	}
	return s.send(reply{Done: true, Plan: plan})
}

// replay runs the last plan's migration on instances.
func (s *server) replay(r *replayRequest) error {
	if s.migration == nil {
		return s.send(reply{Done: true, Err: &wireError{Text: "worker: no migration was planned to replay"}})
	}
	if err := s.send(reply{Evaluating: true}); err != nil {
		return err
	}
	failures, err := s.migration.Replay(context.Background(), r.Instances)
	return s.send(reply{Done: true, Failures: failures, Err: toWire(err)})
}
