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
	workspace string // "" until confined
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

// evaluate builds the evaluation variant of the entry point and checks it,
// after giving the memory of the build back to the system: the parent's
// memory limit for an evaluation is lower than for a build.
func (s *server) evaluate(e *evaluateRequest) error {
	old := debug.SetGCPercent(-1)
	script, err := bundle.BuildCheck(context.Background(), bundle.Options{Dir: e.Dir, Entry: e.Entry, Root: s.workspace}, variant)
	debug.SetGCPercent(old)
	if err != nil {
		return s.send(reply{Done: true, Err: toWire(err)})
	}
	runtime.GC()
	debug.FreeOSMemory()
	if err := s.send(reply{Evaluating: true}); err != nil {
		return err
	}
	err = validate.Check(context.Background(), script, e.Kind, validate.Options{Timeout: e.Timeout, MaxHeapBytes: e.MaxHeap})
	return s.send(reply{Done: true, Err: toWire(err)})
}
