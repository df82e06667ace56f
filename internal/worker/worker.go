package worker

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"sbdeploy/bundle"
	"sbdeploy/validate"
)

// The memory limits the parent enforces on the worker's resident memory.
const (
	// BuildMemory bounds a build: far above what bundling a large app
	// takes, far below a CI runner's memory.
	BuildMemory = 1 << 30
	// EvaluateMemory bounds an evaluation: ordinary work at the top level
	// (a table of 100,000 rows) fits with room; code that allocates without
	// bound is stopped well before the runner runs short.
	EvaluateMemory = 224 << 20
	// evaluateHeap is the heap bound the evaluation itself keeps, below
	// EvaluateMemory, so that code that grows in small steps gets the
	// evaluation's own message.
	evaluateHeap = 192 << 20
)

// maxStderr is how much of the worker's standard error is kept: enough to
// tell why it died, never shown.
const maxStderr = 64 << 10

// Worker is a started worker process. Its methods must not be called
// concurrently; a method whose ctx ends kills the worker, and every call
// after that fails.
type Worker struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	outFile *os.File      // the read end of the worker's standard output
	out     *bufio.Reader // reads outFile
	stderr  *limitedBuffer
	exited  chan struct{} // closed once Wait returned
	err     error         // what Wait returned
	limits  Limits

	closing sync.Once
	mu      sync.Mutex
	killed  string // why the parent killed it, if it did
}

// Limits are the resident memory a worker may use: building, and
// evaluating. Zero fields mean BuildMemory and EvaluateMemory.
type Limits struct{ Build, Evaluate int64 }

// Start starts the executable at path as a worker: with Arg, an empty
// environment, and only its standard streams. It returns at once; the
// worker starts up while the caller goes on.
func Start(path string) (*Worker, error) { return startCmd(exec.Command(path, Arg), Limits{}) }

// startCmd starts cmd as a worker: with an empty environment, in /, and only
// its standard streams, within limits (a worker built with the race
// detector needs several times the memory).
func startCmd(cmd *exec.Cmd, limits Limits) (*Worker, error) {
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.WaitDelay = time.Second // a process it left behind cannot hold Wait up by its stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// A pipe of its own, not StdoutPipe: Wait, which runs beside the
	// reads, closes the pipes it made, and a read under way would then
	// fail as if the worker had answered out of turn. This one ends in EOF
	// when the worker exits.
	out, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = outW
	limits.Build = cmp.Or(limits.Build, BuildMemory)
	limits.Evaluate = cmp.Or(limits.Evaluate, EvaluateMemory)
	w := &Worker{cmd: cmd, in: in, outFile: out, out: bufio.NewReader(out), stderr: &limitedBuffer{max: maxStderr}, exited: make(chan struct{}), limits: limits}
	cmd.Stderr = w.stderr
	err = cmd.Start()
	outW.Close() // the worker holds the write end now
	if err != nil {
		out.Close()
		return nil, fmt.Errorf("start the worker %s: %w", cmd.Path, err)
	}
	go func() {
		w.err = cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

// Close ends the worker: its work is done or abandoned, so it is killed,
// and runs no more code, whatever it was doing. Close does not wait for it
// to exit. A second Close does nothing.
func (w *Worker) Close() {
	w.closing.Do(func() {
		w.kill("closed")
		_ = w.in.Close()
		_ = w.outFile.Close()
	})
}

// Confine makes the worker restrict itself to reading files in workspace,
// and returns what confines it ("Landlock ABI 7", or why nothing does).
func (w *Worker) Confine(ctx context.Context, workspace string) (string, error) {
	r, err := w.call(ctx, request{Confine: &confineRequest{Workspace: workspace}}, "", nil)
	return r.Confined, err
}

// Build runs bundle.Build in the worker. o.Root is the workspace the worker
// was confined to; o.Progress is called from this goroutine.
func (w *Worker) Build(ctx context.Context, o bundle.Options) (*bundle.Bundle, error) {
	r, err := w.call(ctx, request{Build: &buildRequest{Dir: o.Dir, Entry: o.Entry, Kind: o.Kind, Limits: o.Limits}}, o.Entry, o.Progress)
	if err == nil && r.Bundle == nil {
		err = errors.New("worker: a build answered no bundle")
	}
	return r.Bundle, err
}

// Validate builds the evaluation variant of o's entry point in the worker
// and checks it with validate.Check, within vo (zero fields: validate's
// time limit, and a heap bound below the evaluation's memory limit). A
// variant that does not build is a *bundle.BuildError; code that fails the
// check, a *validate.Error.
func (w *Worker) Validate(ctx context.Context, o bundle.Options, kind bundle.Kind, vo validate.Options) error {
	vo.MaxHeapBytes = cmp.Or(vo.MaxHeapBytes, evaluateHeap)
	_, err := w.call(ctx, request{Evaluate: &evaluateRequest{Dir: o.Dir, Entry: o.Entry, Kind: kind, Options: vo}}, o.Entry, nil)
	return err
}

// call sends req and reads the replies, handing progress to progress,
// until the last, which it returns (or the one it failed to read). The
// worker's memory is watched meanwhile: past its limits it is killed. ctx
// ending kills it too.
func (w *Worker) call(ctx context.Context, req request, entry string, progress func(int)) (reply, error) {
	select {
	case <-w.exited:
		return reply{}, w.crash(ctx, entry)
	default:
	}
	done := make(chan struct{})
	defer close(done)
	var evaluating sync.Once
	lower := make(chan struct{})
	go w.watch(ctx, lower, done)
	if err := writeFrame(w.in, req); err != nil {
		w.kill("a request could not be sent: " + err.Error()) // too large, or the worker is gone
		return reply{}, w.crash(ctx, entry)
	}
	for {
		var r reply
		if err := readReply(w.out, &r); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				w.kill("it answered out of turn") // a frame too large, or not JSON: it will not be understood after
			}
			return r, w.crash(ctx, entry)
		}
		switch {
		case r.Evaluating:
			evaluating.Do(func() { close(lower) })
		case r.Done:
			return r, r.Err.err()
		case progress != nil:
			progress(r.Progress)
		}
	}
}

// The periods of the memory watch. An evaluation, where code allocates at
// will, is looked at often; a build, which esbuild alone runs and which
// each look interrupts on a busy machine, seldom: it may pass its limit by
// what it allocates in buildWatch.
const (
	buildWatch    = 50 * time.Millisecond
	evaluateWatch = 5 * time.Millisecond
)

// watch kills the worker when ctx ends, or when its resident memory passes
// its build limit (its evaluation limit once lower is closed), until done
// is closed.
func (w *Worker) watch(ctx context.Context, lower, done <-chan struct{}) {
	limit := w.limits.Build
	tick := time.NewTicker(buildWatch)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-w.exited:
			return
		case <-ctx.Done():
			w.kill("ctx")
			return
		case <-lower:
			limit, lower = w.limits.Evaluate, nil
			tick.Reset(evaluateWatch)
		case <-tick.C:
			if rss := residentBytes(w.cmd.Process.Pid); rss > limit {
				w.kill(fmt.Sprintf("used more than %d MB of memory", limit>>20))
				return
			}
		}
	}
}

func (w *Worker) kill(why string) {
	w.mu.Lock()
	if w.killed == "" {
		w.killed = why
	}
	w.mu.Unlock()
	_ = w.cmd.Process.Kill()
}

// CrashError is a worker that stopped before it answered: the code it was
// bundling or evaluating nests too deeply, used too much memory or time,
// or broke the worker some other way.
type CrashError struct {
	Entry  string // the entry point it was working on; "" if none
	Reason string // why, for a person: "nests too deeply", ...
}

func (e *CrashError) Error() string {
	if e.Entry == "" {
		return "the worker that bundles and evaluates the code stopped: " + e.Reason
	}
	return fmt.Sprintf("the worker that bundles and evaluates the code stopped while working on %s: %s", e.Entry, e.Reason)
}

// crash says why the worker stopped, once it has: ctx's error if ctx
// ended, else a *CrashError read from how it died. Its standard error is
// read for the cause, never shown: it could quote the code.
func (w *Worker) crash(ctx context.Context, entry string) error {
	<-w.exited
	w.mu.Lock()
	killed := w.killed
	w.mu.Unlock()
	if killed == "ctx" || ctx.Err() != nil {
		return fmt.Errorf("worker stopped: %w", context.Cause(ctx))
	}
	reason := killed
	stderr := w.stderr.Bytes()
	switch {
	case reason != "":
	case bytes.Contains(stderr, []byte("stack overflow")) || bytes.Contains(stderr, []byte("stack exceeds")):
		reason = "the code nests too deeply (its parse or evaluation overflowed the stack)"
	case bytes.Contains(stderr, []byte("out of memory")):
		reason = "it ran out of memory"
	default:
		reason = "it exited unexpectedly (" + exitText(w.err) + ")"
	}
	return &CrashError{Entry: entry, Reason: reason}
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// Plan builds the evaluation variants of two versions of a machine, from
// and to, and of the migration between them if migration is not "", in
// the worker (dir is their working directory), describes the machines and
// checks the migration (validate.Migration.Static), within vo. The worker
// keeps the migration for Replay. A check that fails is in the Plan; an
// error that the worker reports is a *PlanError that says which entry
// point it failed on.
func (w *Worker) Plan(ctx context.Context, dir, from, to, migration string, vo validate.Options) (*Plan, error) {
	vo.MaxHeapBytes = cmp.Or(vo.MaxHeapBytes, evaluateHeap)
	req := planRequest{Dir: dir, From: from, To: to, Migration: migration, Options: vo}
	r, err := w.call(ctx, request{Plan: &req}, cmp.Or(migration, to), nil)
	switch {
	case err != nil && r.Entry != "":
		return nil, &PlanError{Entry: r.Entry, Err: err}
	case err != nil:
		return nil, err
	case r.Plan == nil:
		return nil, errors.New("worker: a plan answered nothing")
	}
	return r.Plan, nil
}

// PlanError is a plan that failed on one of its entry points: it does not
// build for evaluation, or its evaluation failed.
type PlanError struct {
	Entry string // relative to the plan's directory
	Err   error
}

func (e *PlanError) Error() string { return e.Entry + ": " + e.Err.Error() }
func (e *PlanError) Unwrap() error { return e.Err }

// Replay runs the migration of the last Plan on instances, in the worker,
// and returns the failures (validate.Migration.Replay).
func (w *Worker) Replay(ctx context.Context, instances []validate.Instance) ([]validate.Failure, error) {
	r, err := w.call(ctx, request{Replay: &replayRequest{Instances: instances}}, "", nil)
	return r.Failures, err
}
