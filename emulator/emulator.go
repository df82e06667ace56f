// Package emulator is an in-memory stand-in for the StateBacked API and for
// the S3 presigned POST that receives migration code. It validates every
// request as the real services would (more strictly where leniency would hide
// a client bug), records every request, and lets a test intercept any
// request it routes (package sbdeploy/internal/testkit injects failures so).
//
// It shares no code with package deploy on purpose: it is a second, independent
// reading of the API facts, so a misreading in one fails against the other.
package emulator

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
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
	Machines  map[string][]string // machine slug -> IDs of its existing versions (e.g. "ver_1"), oldest first
	Instances map[string][]string // machine slug -> slugs of its instances (machines must also be in Machines)
	PageSize  int                 // instances, or versions, per page when listing; 0 means 100
	// Uploads, if set, replaces the built-in S3 stand-in: provision asks it
	// for the presigned POST, and finalize asks it for the uploaded object
	// (into Migration.Code), answering 400 as ever when there is none.
	// Uploads then go to it directly, so Requests records none.
	Uploads UploadTarget
	// Keys are API keys (key ID -> secret, as sbk_... -> sbsec_...) whose
	// HS256 tokens are accepted besides Token, checked as docs/api.md
	// describes. Their tokens have the scopes Token has (Scopes).
	Keys map[string]string
	// CIKeys are API keys like Keys whose tokens have exactly the scopes of
	// a key made with `smply keys create --use ci` (CIScopes), whatever
	// Scopes says: a request that needs another scope is refused 403
	// missing-scope. A key ID may not be in both.
	CIKeys map[string]string
	// AllowExtraProvisionFields accepts the official JS client's extra
	// provision body keys, for benchmarks.
	AllowExtraProvisionFields bool
	// NoRecord keeps no request for Requests, which then returns none;
	// Served still counts them. A long run that rehearses a rollout or a
	// teardown of a million instances sends a million requests, whose
	// records (headers and bodies) would hold gigabytes.
	NoRecord bool
	// Latency delays each API answer, as a round trip would; for
	// benchmarks.
	Latency time.Duration
	// Capacity, if > 0, is how many API requests are served at once, each
	// for Latency; the others wait their turn, so past it the latency rises.
	Capacity int
	// RateLimit, if > 0, is how many API requests a second are served: a
	// token bucket that holds RateBurst (0: one second's worth). A request
	// past it is answered 429 rate-limited, with the whole seconds until a
	// token is due in Retry-After (at least 1).
	RateLimit float64
	RateBurst int
	// Limits are the largest upload accepted; zero means the service's
	// (docs/api.md): 10,000,000 bytes plain or unzipped, 1,000,000 gzipped.
	// Tests of the limits' logic use small ones.
	Limits Limits
	// Intercept, if set, is called with each request that a route takes,
	// once it is recorded and its body read, and with its step. If it
	// answers the request, or takes its connection over (through
	// http.ResponseController), it returns true and the emulator does
	// nothing more with the request, which keeps Status 0 if the connection
	// was taken. It then touches no state, and the request is not paced.
	Intercept func(w http.ResponseWriter, r *http.Request, step Step) bool

	// CurrentVersions maps a machine slug to its current version, one of its
	// Machines entries. A machine without one has no current version until a
	// version is finalized with makeCurrent.
	CurrentVersions map[string]string
	// VersionClientInfo maps a version ID of Machines to the clientInfo it was
	// finalized with; "" when absent.
	VersionClientInfo map[string]string
	// InstanceVersions maps machine slug -> instance slug -> the version the
	// instance runs now. An instance not named runs its machine's first
	// version, or none if the machine has none.
	InstanceVersions map[string]map[string]string
	// PausedInstances maps a machine slug to those of its Instances whose
	// status is paused; the others are running.
	PausedInstances map[string][]string
	// Migrations maps a machine slug to migrations that exist besides those
	// finalized through the API, each {from, to} version IDs of the machine.
	// Setting an instance's version needs a chain of them.
	Migrations map[string][][2]string
	// InstanceStates maps machine slug -> instance slug (one of Instances)
	// -> the state value and context the admin read answers for it,
	// compacted. A field left nil takes DefaultInstanceState's.
	InstanceStates map[string]map[string]InstanceState
	// DefaultInstanceState is the state and context of every instance
	// InstanceStates does not give one; a nil State means the top-level
	// atomic state "idle", a nil Context the empty object {}.
	DefaultInstanceState InstanceState
}

// Limits are the sizes an upload may have, in bytes.
type Limits struct {
	Plain   int // plain, and gzipped code once unzipped
	Gzipped int
}

// Step names one kind of request the emulator serves: the three requests of a
// migration or version deploy, and those that read, list, move and delete.
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

	StepListVersions       Step = "list-versions"        // GET /machines/{slug}/v
	StepSetInstanceVersion Step = "set-instance-version" // PUT /machines/{slug}/i/{instanceSlug}/v
	StepReadInstance       Step = "read-instance"        // GET /machines/{slug}/i/{instanceSlug}/admin
)

// Request is one recorded request.
type Request struct {
	Step     Step // "" when the path matched no step
	Method   string
	Path     string
	RawQuery string
	Header   http.Header // a clone
	Body     []byte      // the body as received, at most 16 MiB
	Status   int         // the status answered; 0 while in progress, or if Config.Intercept took the connection
}

// Deploy is the emulator's state for one provisioned migration or machine
// version.
type Deploy struct {
	Version   bool   // a machine version, not a migration
	ID        string // public id, returned by finalize: "mvm_<hex>", or "ver_<hex>" for a version
	SignedID  string // what provision returned as machineVersionMigrationId or machineVersionId
	Machine   string
	From, To  string // a migration's versions
	Gzip      bool   // provisioned with the gzip query flag
	Code      []byte // the uploaded file part as uploaded (still gzipped if Gzip); nil before upload
	Finalized bool
	// What a version's finalize was given.
	ClientInfo     string
	MakeCurrent    bool
	IndexSelectors json.RawMessage
}

// Emulator is an http.Handler serving the StateBacked API for machines,
// their versions and migrations, instance listing, reading, moving and
// deletion, and the upload target. It is safe for concurrent use.
type Emulator struct {
	cfg     Config         // the settings; the state Config seeds lives in machines
	idKey   []byte         // signs migration IDs, so finalize can reject forged ones
	postKey []byte         // signs upload policies, as an S3 secret access key would
	mux     *http.ServeMux // routes a request to the endpoint of its path; see newMux

	mu         sync.Mutex
	requests   []Request
	served     int                 // requests received, recorded or not
	migrations []*migration        // provisioned migrations and versions, in order
	machines   map[string]*machine // by slug; deleting a machine removes its entry
}

// migration is a Deploy plus the upload fields issued for it.
type migration struct {
	Deploy
	key    string            // the object key the code is uploaded to
	fields map[string]string // never changed after provision
}

// New returns an emulator for cfg. It panics if cfg.Token is empty, if
// cfg.PageSize is negative, if a key ID is in both cfg.Keys and cfg.CIKeys,
// if a version ID in cfg.Machines is empty, if cfg.Instances has a slug the
// API would reject, if any map of cfg names a machine, instance or version
// that cfg.Machines and cfg.Instances do not have, or if a state of
// cfg.InstanceStates or cfg.DefaultInstanceState is not a StateValue or a
// context not a JSON object, since each is a mistake in the test, not a
// runtime error. Duplicate instances or versions count once.
func New(cfg Config) *Emulator {
	if cfg.Token == "" {
		panic("emulator: Config.Token is empty")
	}
	if cfg.PageSize < 0 {
		panic(fmt.Sprintf("emulator: Config.PageSize is %d", cfg.PageSize))
	}
	cfg.Limits = cmp.Or(cfg.Limits, Limits{Plain: maxPlain, Gzipped: maxGzipped})
	cfg.PageSize = cmp.Or(cfg.PageSize, 100)
	for _, id := range sortedKeys(cfg.CIKeys) {
		if _, ok := cfg.Keys[id]; ok {
			panic(fmt.Sprintf("emulator: key %q is in both Config.Keys and Config.CIKeys", id))
		}
	}
	cfg.Scopes = slices.Clone(cfg.Scopes) // keeps nil as nil: every scope
	cfg.Orgs = slices.Clone(cfg.Orgs)
	cfg.Keys, cfg.CIKeys = maps.Clone(cfg.Keys), maps.Clone(cfg.CIKeys)
	cfg.DefaultInstanceState = seedState(cfg.DefaultInstanceState, "Config.DefaultInstanceState")
	if cfg.DefaultInstanceState.State == nil {
		cfg.DefaultInstanceState.State = defaultState
	}
	if cfg.DefaultInstanceState.Context == nil {
		cfg.DefaultInstanceState.Context = defaultContext
	}
	machines := seed(cfg)
	// The state lives in machines from here on; dropping the maps keeps the
	// emulator from reading the caller's, which the caller may change.
	cfg.Machines, cfg.Instances, cfg.CurrentVersions, cfg.VersionClientInfo = nil, nil, nil, nil
	cfg.InstanceVersions, cfg.PausedInstances, cfg.Migrations, cfg.InstanceStates = nil, nil, nil, nil
	e := &Emulator{cfg: cfg, idKey: randomBytes(32), postKey: randomBytes(32), machines: machines}
	e.mux = e.newMux()
	return e
}

// record appends r on arrival, so the log keeps arrival order even when
// concurrent requests finish out of order, and returns its index: -1 with
// Config.NoRecord.
func (e *Emulator) record(step Step, r *http.Request) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.served++
	if e.cfg.NoRecord {
		return -1
	}
	e.requests = append(e.requests, Request{
		Step: step, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(),
	})
	return len(e.requests) - 1
}

// update applies f to the record of request i, if it has one.
func (e *Emulator) update(i int, f func(*Request)) {
	if i < 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&e.requests[i])
}

// Requests returns a copy of every request received, in arrival order; none
// with Config.NoRecord.
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

// Served returns how many requests the emulator has received, with
// Config.NoRecord or without.
func (e *Emulator) Served() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.served
}

// Deploys returns a copy of every migration and version provisioned, in
// provision order.
func (e *Emulator) Deploys() []Deploy {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Deploy, len(e.migrations))
	for i, m := range e.migrations {
		out[i] = m.Deploy
		out[i].Code, out[i].IndexSelectors = bytes.Clone(m.Code), bytes.Clone(m.IndexSelectors)
	}
	return out
}

// MachineState is what the emulator holds for one machine.
type MachineState struct {
	Instances []string          // its instances' slugs, sorted; not nil
	Desired   map[string]string // instance slug -> the version PUT /machines/{machine}/i/{instance}/v last recorded
	Indexes   []string          // the indexes it was created with through the API
}

// Machine returns a copy of what e holds for machine slug, or false if it
// does not exist: it was neither in Config.Machines nor created through the
// API, or it was deleted. The API applies a desired version only when an
// event next reaches the instance, which never happens here: the instance
// keeps its version.
func (e *Emulator) Machine(slug string) (MachineState, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.machines[slug]
	if !ok {
		return MachineState{}, false
	}
	s := MachineState{Instances: make([]string, 0, len(m.instances)), Desired: map[string]string{}, Indexes: slices.Clone(m.indexes)}
	for _, in := range m.instances {
		s.Instances = append(s.Instances, in.slug)
		if in.desired != "" {
			s.Desired[in.slug] = in.desired
		}
	}
	return s, true
}

// find returns the migration for which match is true, or nil. Callers hold e.mu.
func (e *Emulator) find(match func(*migration) bool) *migration {
	if i := slices.IndexFunc(e.migrations, match); i >= 0 {
		return e.migrations[i]
	}
	return nil
}

// Listen serves e on addr (e.g. "127.0.0.1:0") in a goroutine. It returns the
// base URL ("http://127.0.0.1:PORT") and a func that shuts the server down.
func (e *Emulator) Listen(addr string) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // returns ErrServerClosed after stop
	stop = sync.OnceFunc(func() {
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
	i      int  // the request's index in e.requests; -1 if it has none
	status int  // the first status written
	cut    bool // Config.Intercept took the connection over: no status is sent
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

// Hijack lets Config.Intercept take the connection over through
// http.ResponseController. The request then keeps Status 0, even if the
// connection cannot be taken (HTTP/2) and the hook ends the stream instead.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.cut = true
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the connection's other
// controls (Flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// mac returns the HMAC-SHA256 of msg under key.
func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// sign returns the hex HMAC-SHA256 of msg under key.
func sign(key []byte, msg string) string { return hex.EncodeToString(mac(key, msg)) }

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
