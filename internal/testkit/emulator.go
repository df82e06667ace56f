package testkit

import (
	"net/http/httptest"
	"sync"
	"testing"

	"sbdeploy/emulator"
)

// Token is the token Emulator accepts unless cfg names another.
const Token = "sbtest_token"

// Emu is an emulator of the API with what only tests need: faults injected
// into its requests (Inject, InjectSequence, FailNext), and its state read
// back.
type Emu struct {
	*emulator.Emulator

	mu      sync.Mutex
	fails   map[emulator.Step][]run // pending faults, in order
	stopped chan struct{}           // closed when a server of Listen stops, ending hangs
	halt    func()                  // closes stopped, once
}

// New returns an Emu for cfg, whose Intercept it sets to apply its faults.
// It panics as emulator.New does.
func New(cfg emulator.Config) *Emu {
	e := &Emu{fails: map[emulator.Step][]run{}, stopped: make(chan struct{})}
	e.halt = sync.OnceFunc(func() { close(e.stopped) })
	cfg.Intercept = e.inject
	e.Emulator = emulator.New(cfg)
	return e
}

// Emulator serves an Emu with cfg until the test ends (by default with
// Token and the machine toggle at ver_1 and ver_2), and returns it and its
// URL.
func Emulator(tb testing.TB, cfg emulator.Config) (*Emu, string) {
	tb.Helper()
	if cfg.Token == "" {
		cfg.Token = Token
	}
	if cfg.Machines == nil {
		cfg.Machines = map[string][]string{"toggle": {"ver_1", "ver_2"}}
	}
	em := New(cfg)
	srv := httptest.NewServer(em)
	tb.Cleanup(srv.Close)
	return em, srv.URL
}

// Listen is emulator.Emulator.Listen, whose stop also closes the
// connections of requests held by a Hang fault.
func (e *Emu) Listen(addr string) (baseURL string, stop func(), err error) {
	baseURL, shutdown, err := e.Emulator.Listen(addr)
	if err != nil {
		return "", nil, err
	}
	return baseURL, func() { e.halt(); shutdown() }, nil
}

// Migrations returns a copy of every provisioned migration, in provision
// order.
func (e *Emu) Migrations() []emulator.Deploy {
	return e.deploys(false)
}

// Versions returns a copy of every provisioned machine version, in
// provision order.
func (e *Emu) Versions() []emulator.Deploy {
	return e.deploys(true)
}

func (e *Emu) deploys(versions bool) []emulator.Deploy {
	var out []emulator.Deploy
	for _, d := range e.Deploys() {
		if d.Version == versions {
			out = append(out, d)
		}
	}
	return out
}

// HasMachine reports whether machine slug exists: it was in Config.Machines
// or created through the API, and has not been deleted.
func (e *Emu) HasMachine(slug string) bool {
	_, ok := e.Machine(slug)
	return ok
}

// Instances returns the slugs of machine's instances, sorted, or nil if the
// machine does not exist.
func (e *Emu) Instances(machine string) []string {
	m, _ := e.Machine(machine)
	return m.Instances
}

// DesiredVersion returns the version PUT /machines/{machine}/i/{instance}/v
// last recorded for the instance, or false if none was or there is no such
// instance.
func (e *Emu) DesiredVersion(machine, instance string) (string, bool) {
	m, _ := e.Machine(machine)
	v, ok := m.Desired[instance]
	return v, ok
}

// MachineIndexes returns the indexes a machine was created with through the
// API, or nil.
func (e *Emu) MachineIndexes(slug string) []string {
	m, _ := e.Machine(slug)
	return m.Indexes
}
