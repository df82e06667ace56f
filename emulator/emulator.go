// Package emulator is an in-memory stand-in for the StateBacked API and for
// the S3 presigned POST that receives migration code. It validates every
// request as the real services would (more strictly where leniency would hide
// a client bug), records every request, and injects failures on demand.
//
// It shares no code with package deploy on purpose: it is a second, independent
// reading of the API facts, so a misreading in one fails against the other.
package emulator

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxRecorded is the most body bytes read and kept per request. Every valid
// request is far smaller (an upload is at most 10,000,000 bytes plus fields).
const maxRecorded = 16 << 20

// Config is what the emulator knows about its one user.
type Config struct {
	Token     string              // the one bearer token accepted (required, non-empty)
	Scopes    []string            // scopes that token has; nil means every scope
	Orgs      []string            // orgs of the token's user; with more than one, x-statebacked-org-id is required
	Machines  map[string][]string // machine slug -> IDs of its existing versions (e.g. "ver_1")
	Instances map[string][]string // machine slug -> slugs of its instances (machines must also be in Machines)
	PageSize  int                 // instances per page when listing; 0 means 100
	// Uploads, if set, replaces the built-in S3 stand-in: provision asks it
	// for the presigned POST, and finalize asks it for the uploaded object
	// (into Migration.Code), answering 400 as ever when there is none.
	// Uploads then go to it directly, so Requests records none.
	Uploads UploadTarget
	// Keys are API keys (key ID -> secret, as sbk_... -> sbsec_...) whose
	// HS256 tokens are accepted besides Token, checked as API.md describes.
	Keys map[string]string
	// AllowExtraProvisionFields accepts the official JS client's extra
	// provision body keys, for benchmarks.
	AllowExtraProvisionFields bool
}

// Step names one kind of request the emulator serves: the three requests of a
// migration deploy, and those that list and delete.
type Step string

// The steps, named by the request that performs them.
const (
	StepProvision      Step = "provision"       // POST /machines/{slug}/migrations
	StepUpload         Step = "upload"          // POST to the presigned upload URL
	StepFinalize       Step = "finalize"        // PUT /machines/{slug}/migrations/{signedId}
	StepDeleteMachine  Step = "delete-machine"  // DELETE /machines/{slug}
	StepListInstances  Step = "list-instances"  // GET /machines/{slug}/i
	StepDeleteInstance Step = "delete-instance" // DELETE /machines/{slug}/i/{instanceSlug}

	StepProvisionVersion Step = "provision-version" // POST /machines/{slug}/v
	StepFinalizeVersion  Step = "finalize-version"  // PUT /machines/{slug}/v/{signedId}
	StepGetMachine       Step = "get-machine"       // GET /machines/{slug}
	StepCreateMachine    Step = "create-machine"    // POST /machines
)

// Request is one recorded request.
type Request struct {
	Step     Step // "" when the path matched no step
	Method   string
	Path     string
	RawQuery string
	Header   http.Header // a clone
	Body     []byte      // the body as received, at most 16 MiB
	Status   int         // the status answered; 0 while in progress, or if a Hang or Reset fault sent none
}

// Migration is the emulator's state for one provisioned migration.
type Migration struct {
	ID                string // public id, returned by finalize, e.g. "mvm_<hex>"
	SignedID          string // what provision returned as machineVersionMigrationId
	Machine, From, To string
	Gzip              bool   // provisioned with the gzip query flag
	Code              []byte // the uploaded file part as uploaded (still gzipped if Gzip); nil before upload
	Finalized         bool
}

// Emulator is an http.Handler serving the StateBacked API for migrations,
// instance listing and deletion, and the upload target. It is safe for
// concurrent use.
type Emulator struct {
	cfg     Config // cfg.Machines is state: deleting a machine removes its entry, under mu
	idKey   []byte // signs migration IDs, so finalize can reject forged ones
	postKey []byte // signs upload policies, as an S3 secret access key would

	mu         sync.Mutex
	requests   []Request
	migrations []*migration
	instances  map[string][]string // machine slug -> its instance slugs, sorted; a key for every machine
	fails      map[Step][]run      // pending faults, in order
	indexes    map[string][]string // machine slug -> indexes, for machines created through the API
}

// migration is a Migration plus the upload fields issued for it.
type migration struct {
	Migration
	key     string            // the object key the code is uploaded to
	fields  map[string]string // never changed after provision
	version *Version          // set for a machine version, nil for a migration
}

// New returns an emulator for cfg. It panics if cfg.Token is empty, if
// cfg.Instances names a machine missing from cfg.Machines or an instance slug
// the API would reject, or if cfg.PageSize is negative, since each is a
// mistake in the test, not a runtime error. Duplicate instances count once.
func New(cfg Config) *Emulator {
	if cfg.Token == "" {
		panic("emulator: Config.Token is empty")
	}
	if cfg.PageSize < 0 {
		panic(fmt.Sprintf("emulator: Config.PageSize is %d", cfg.PageSize))
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 100
	}
	cfg.Scopes = slices.Clone(cfg.Scopes) // keeps nil as nil: every scope
	cfg.Orgs = slices.Clone(cfg.Orgs)
	machines := make(map[string][]string, len(cfg.Machines))
	instances := make(map[string][]string, len(cfg.Machines))
	for slug, versions := range cfg.Machines {
		machines[slug] = slices.Clone(versions)
		instances[slug] = nil
	}
	for _, slug := range sortedKeys(cfg.Instances) {
		if _, ok := machines[slug]; !ok {
			panic(fmt.Sprintf("emulator: Config.Instances names machine %q, which is not in Config.Machines", slug))
		}
		for _, inst := range cfg.Instances[slug] {
			if !validSlug(inst) {
				panic(fmt.Sprintf("emulator: Config.Instances[%q] has %q, which does not match %s", slug, inst, slugRule))
			}
		}
		instances[slug] = slices.Compact(slices.Sorted(slices.Values(cfg.Instances[slug])))
	}
	cfg.Machines, cfg.Instances = machines, nil // the state is e.instances
	return &Emulator{cfg: cfg, idKey: randomBytes(32), postKey: randomBytes(32), instances: instances, fails: map[Step][]run{}}
}

// ServeHTTP records the request, then answers an injected fault or the
// emulated API or upload.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	step, method, params := route(r.Method, r.URL.Path)
	i := e.record(step, r)
	// Reading one byte past the cap lets handlers see an oversized body as too large.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRecorded+1))
	e.update(i, func(req *Request) { req.Body = body[:min(len(body), maxRecorded)] })
	sw := &statusWriter{ResponseWriter: w, e: e, i: i}
	defer func() {
		if sw.status == 0 && !sw.cut {
			e.update(i, func(req *Request) { req.Status = http.StatusOK }) // what net/http sends for no answer
		}
	}()

	switch {
	case err != nil:
		http.Error(sw, "cannot read request body", http.StatusBadRequest)
	case step == "":
		writeJSON(sw, http.StatusNotFound, &apiError{Message: "no such path: " + r.URL.Path, Code: "not-found"})
	case r.Method != method:
		allow := method
		if step == StepDeleteMachine {
			allow = "GET, DELETE"
		}
		sw.Header().Set("Allow", allow)
		msg := fmt.Sprintf("%s takes %s, not %s", r.URL.Path, method, r.Method)
		if step == StepUpload {
			writeS3(sw, s3err(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s", msg))
		} else {
			writeJSON(sw, http.StatusMethodNotAllowed, &apiError{Message: msg, Code: "method-not-allowed"})
		}
	case e.inject(sw, r, step):
	case step == StepUpload:
		if p := e.receive(r, params[0], body); p != nil {
			writeS3(sw, p)
			return
		}
		sw.WriteHeader(http.StatusNoContent)
	default:
		e.api(sw, r, step, params, body)
	}
}

// route names the step a path belongs to, the method that step takes, and the
// path parameters: the machine slug (and signed id or instance slug), or the
// upload bucket.
func route(reqMethod, path string) (step Step, method string, params []string) {
	parts := strings.Split(path, "/")
	switch {
	case len(parts) == 3 && parts[0] == "" && parts[1] == "upload":
		return StepUpload, http.MethodPost, parts[2:3]
	case len(parts) == 2 && parts[0] == "" && parts[1] == "machines":
		return StepCreateMachine, http.MethodPost, []string{""}
	case len(parts) < 3 || parts[0] != "" || parts[1] != "machines":
		return "", "", nil
	}
	switch rest := parts[3:]; {
	case len(rest) == 0 && reqMethod == http.MethodGet:
		return StepGetMachine, http.MethodGet, parts[2:3]
	case len(rest) == 0:
		return StepDeleteMachine, http.MethodDelete, parts[2:3]
	case len(rest) == 1 && rest[0] == "v":
		return StepProvisionVersion, http.MethodPost, parts[2:3]
	case len(rest) == 2 && rest[0] == "v":
		return StepFinalizeVersion, http.MethodPut, []string{parts[2], rest[1]}
	case len(rest) == 1 && rest[0] == "migrations":
		return StepProvision, http.MethodPost, parts[2:3]
	case len(rest) == 2 && rest[0] == "migrations":
		return StepFinalize, http.MethodPut, []string{parts[2], rest[1]}
	case len(rest) == 1 && rest[0] == "i":
		return StepListInstances, http.MethodGet, parts[2:3]
	case len(rest) == 2 && rest[0] == "i":
		return StepDeleteInstance, http.MethodDelete, []string{parts[2], rest[1]}
	}
	return "", "", nil
}

// record appends r on arrival, so the log keeps arrival order even when
// concurrent requests finish out of order, and returns its index.
func (e *Emulator) record(step Step, r *http.Request) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests = append(e.requests, Request{
		Step: step, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(),
	})
	return len(e.requests) - 1
}

// update applies f to the record of request i.
func (e *Emulator) update(i int, f func(*Request)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&e.requests[i])
}

// Requests returns a copy of every request received, in arrival order.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Request, len(e.requests))
	for i, r := range e.requests {
		r.Header, r.Body = r.Header.Clone(), bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

// Migrations returns a copy of every provisioned migration, in provision order.
func (e *Emulator) Migrations() []Migration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Migration
	for _, m := range e.migrations {
		if m.version == nil {
			c := m.Migration
			c.Code = bytes.Clone(m.Code)
			out = append(out, c)
		}
	}
	return out
}

// HasMachine reports whether machine slug exists: it was in Config.Machines
// and has not been deleted.
func (e *Emulator) HasMachine(slug string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.cfg.Machines[slug]
	return ok
}

// Instances returns the slugs of machine's instances, sorted, or nil if the
// machine does not exist.
func (e *Emulator) Instances(machine string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	list, ok := e.instances[machine]
	if !ok {
		return nil
	}
	return append([]string{}, list...) // not nil: the machine exists
}

// find returns the migration for which match is true, or nil. Callers hold e.mu.
func (e *Emulator) find(match func(*migration) bool) *migration {
	if i := slices.IndexFunc(e.migrations, match); i >= 0 {
		return e.migrations[i]
	}
	return nil
}

// stopKey keys, in the context of each request Listen serves, the channel
// that its stop func closes.
type stopKey struct{}

// Listen serves e on addr (e.g. "127.0.0.1:0") in a goroutine. It returns the
// base URL ("http://127.0.0.1:PORT") and a func that shuts the server down,
// closing the connections of requests held by a Hang fault.
func (e *Emulator) Listen(addr string) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	stopped := make(chan struct{})
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), stopKey{}, stopped)
		}}
	go func() { _ = srv.Serve(ln) }() // returns ErrServerClosed after stop
	stop = sync.OnceFunc(func() {
		close(stopped) // Shutdown does not wait for hanging requests, so end them
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String(), stop, nil
}

// statusWriter records the status in the request log as it is written, so
// the log has it before the client can have the answer.
type statusWriter struct {
	http.ResponseWriter
	e      *Emulator
	i      int  // the request's index in e.requests
	status int  // the first status written
	cut    bool // a Hang or Reset fault took the connection: no status is sent
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.e.update(w.i, func(req *Request) { req.Status = code })
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection, to hijack it.
func (w *statusWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}

// sign returns the hex HMAC-SHA256 of msg under key.
func sign(key []byte, msg string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msg))
	return hex.EncodeToString(mac.Sum(nil))
}

// verify reports whether sig is sign(key, msg), in constant time.
func verify(key []byte, msg, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(sign(key, msg)))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return b
}

// sortedKeys returns m's keys in order, so errors name the same key every run.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
