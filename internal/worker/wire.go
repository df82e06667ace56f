// Package worker runs the untrusted part of a deploy, bundling the code and
// evaluating it, in a process of its own: the same executable, started
// with the hidden argument Arg, an empty environment and no file but its
// standard streams. That process holds no secret, confines itself before it
// reads anything (Landlock on Linux: the workspace read-only, directory
// names elsewhere, no network), and is bounded from outside: the parent
// kills it at the run's deadline and past a memory limit, and a crash
// becomes a *CrashError that says why.
//
// The two talk over the worker's standard input and output, in frames: a
// 4-byte big-endian length, then that many bytes of JSON; a reply with a
// bundle is followed by the bundle's code and gzipped bytes, raw, as long
// as its JSON says. The parent sends one request at a time; the worker
// answers with progress frames, then one reply.
package worker

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"sbdeploy/bundle"
	"sbdeploy/validate"
)

// Arg is the hidden command-line argument that makes the executable serve
// as a worker (see Serve).
const Arg = "__sbdeploy_worker"

// maxFrame bounds a frame's JSON (esbuild's messages, however many);
// maxBytes each of a bundle's two raw parts (bundle.Limits.Raw is at most
// 10,000,000 bytes).
const (
	maxFrame = 64 << 20
	maxBytes = 16 << 20
)

// request is one job for the worker; exactly one field is set.
type request struct {
	Confine  *confineRequest  `json:",omitempty"`
	Build    *buildRequest    `json:",omitempty"`
	Evaluate *evaluateRequest `json:",omitempty"`
	Plan     *planRequest     `json:",omitempty"`
	Replay   *replayRequest   `json:",omitempty"`
}

// confineRequest names the only directory the worker may read files in.
type confineRequest struct{ Workspace string }

// buildRequest is a bundle.Build.
type buildRequest struct {
	Dir, Entry string
	Kind       bundle.Kind
	Limits     bundle.Limits
}

// evaluateRequest is a validation: bundle.BuildCheck of the entry point,
// then validate.Check of what it built, within Options.
type evaluateRequest struct {
	Dir, Entry string
	Kind       bundle.Kind
	validate.Options
}

// planRequest describes two versions of a machine, From and To (entry
// points of machine versions), and checks the migration between them, if
// Migration names one, within Options; the worker keeps it for
// replayRequests.
type planRequest struct {
	Dir, From, To, Migration string
	validate.Options
}

// replayRequest runs the planned migration on instances.
type replayRequest struct{ Instances []validate.Instance }

// reply is what the worker answers: progress frames (Progress set, not
// Done), then one frame with Done set.
type reply struct {
	Done       bool               `json:",omitempty"`
	Progress   int                `json:",omitempty"`
	Confined   string             `json:",omitempty"` // to a confine request: what confines the worker
	Bundle     *bundle.Bundle     `json:",omitempty"` // to a build: without Code and Gzipped, which follow the frame
	CodeBytes  int                `json:",omitempty"` // len(Bundle.Code)
	GzipBytes  int                `json:",omitempty"` // len(Bundle.Gzipped)
	Err        *wireError         `json:",omitempty"`
	Evaluating bool               `json:",omitempty"` // the evaluation starts: the parent's memory limit drops
	Plan       *Plan              `json:",omitempty"` // to a plan
	Entry      string             `json:",omitempty"` // to a plan that failed: the entry point it failed on
	Failures   []validate.Failure `json:",omitempty"` // to a replay
}

// Plan is what a plan request found: how the machine changed, and where
// the migration, if any, takes instances (nil without one).
type Plan struct {
	Diff      validate.Diff
	Migration *validate.Plan
	// From and To are the old machine and the new, as described.
	From, To *validate.Machine
}

// wireError carries an error across the pipe with its type: the action
// layer tells them apart to place and explain them.
type wireError struct {
	Build    *bundle.BuildError       `json:",omitempty"`
	Exports  *bundle.ExportsError     `json:",omitempty"`
	Size     *bundle.SizeError        `json:",omitempty"`
	Validate *validate.Error          `json:",omitempty"`
	Plan     *validate.MigrationError `json:",omitempty"`
	Text     string                   `json:",omitempty"`
}

func toWire(err error) *wireError {
	switch e := err.(type) {
	case nil:
		return nil
	case *bundle.BuildError:
		return &wireError{Build: e}
	case *bundle.ExportsError:
		return &wireError{Exports: e}
	case *bundle.SizeError:
		return &wireError{Size: e}
	case *validate.Error:
		return &wireError{Validate: e}
	case *validate.MigrationError:
		return &wireError{Plan: e}
	}
	return &wireError{Text: err.Error()}
}

func (w *wireError) err() error {
	switch {
	case w == nil:
		return nil
	case w.Build != nil:
		return w.Build
	case w.Exports != nil:
		return w.Exports
	case w.Size != nil:
		return w.Size
	case w.Validate != nil:
		return w.Validate
	case w.Plan != nil:
		return w.Plan
	}
	return fmt.Errorf("%s", w.Text)
}

// writeFrame writes v as one frame.
func writeFrame(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(data) > maxFrame {
		return fmt.Errorf("worker: a frame of %d bytes is over the limit of %d", len(data), maxFrame)
	}
	frame := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(data)), uint32(len(data)))
	_, err = w.Write(append(frame, data...))
	return err
}

// writeReply writes r as one frame, followed by its bundle's bytes.
func writeReply(w io.Writer, r reply) error {
	if r.Bundle == nil {
		return writeFrame(w, r)
	}
	code, gz := r.Bundle.Code, r.Bundle.Gzipped
	header := *r.Bundle
	header.Code, header.Gzipped = nil, nil
	r.Bundle, r.CodeBytes, r.GzipBytes = &header, len(code), len(gz)
	if err := writeFrame(w, r); err != nil {
		return err
	}
	if _, err := w.Write(code); err != nil {
		return err
	}
	_, err := w.Write(gz)
	return err
}

// readReply reads one frame into r, and its bundle's bytes.
func readReply(rd io.Reader, r *reply) error {
	if err := readFrame(rd, r); err != nil {
		return err
	}
	if r.Bundle == nil {
		return nil
	}
	var err error
	if r.Bundle.Code, err = readBytes(rd, r.CodeBytes); err != nil {
		return err
	}
	r.Bundle.Gzipped, err = readBytes(rd, r.GzipBytes)
	return err
}

func readBytes(r io.Reader, n int) ([]byte, error) {
	if n < 0 || n > maxBytes {
		return nil, fmt.Errorf("worker: %d bytes of a bundle is over the limit of %d", n, maxBytes)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// readFrame reads one frame into v.
func readFrame(r io.Reader, v any) error {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxFrame {
		return fmt.Errorf("worker: a frame of %d bytes is over the limit of %d", n, maxFrame)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
