package emulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// timeLayout writes createdAt as RFC 3339 in UTC with milliseconds, the way
// JavaScript's Date.toISOString does.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func stamp(t time.Time) string { return t.UTC().Format(timeLayout) }

// seededAt is when the emulator says seeded things were created: a fixed
// time in the past, plus i minutes, so seeded versions keep their listed order.
func seededAt(i int) string {
	return stamp(time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute))
}

// machine is the state of one machine. Callers hold e.mu.
type machine struct {
	createdAt  string
	versions   []versionInfo // seeded in listed order, then as finalized: oldest first
	current    string        // ID of the current version; "" before there is one
	instances  []*instance   // sorted by slug
	migrations [][2]string   // {from, to}: seeded, then as finalized through the API
	indexes    []string      // as created through the API
}

// versionInfo is a seeded or finalized version, as the API describes one.
type versionInfo struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"createdAt"`
	ClientInfo string `json:"clientInfo"`
}

// instance is the state of one instance of a machine.
type instance struct {
	slug      string
	createdAt string
	version   string // the version it runs now; "" if its machine had none when seeded
	desired   string // what set-instance-version last recorded; "" if nothing
	paused    bool
	// state and context are what the admin read answers, compacted; nil
	// means Config.DefaultInstanceState's, which a million seeded
	// instances share.
	state, context json.RawMessage
}

// status is the instance's status as the API names it.
func (in *instance) status() string {
	if in.paused {
		return "paused"
	}
	return "running"
}

// version returns a copy of m's version id, or nil if m has none such. A
// copy, since the answer is encoded after e.mu is released.
func (m *machine) version(id string) *versionInfo {
	i := slices.IndexFunc(m.versions, func(v versionInfo) bool { return v.ID == id })
	if i < 0 {
		return nil
	}
	v := m.versions[i]
	return &v
}

// instance returns m's instance slug, or nil.
func (m *machine) instance(slug string) *instance {
	if i, ok := m.instanceIndex(slug); ok {
		return m.instances[i]
	}
	return nil
}

// instanceIndex finds slug in m.instances as slices.BinarySearch does.
func (m *machine) instanceIndex(slug string) (int, bool) {
	return slices.BinarySearchFunc(m.instances, slug, func(in *instance, s string) int { return strings.Compare(in.slug, s) })
}

// leadsTo reports whether a chain of m's migrations leads from version from
// to version to; the empty chain does when they are the same.
func (m *machine) leadsTo(from, to string) bool {
	seen := map[string]bool{from: true}
	for queue := []string{from}; len(queue) > 0; queue = queue[1:] {
		if queue[0] == to {
			return true
		}
		for _, mig := range m.migrations {
			if mig[0] == queue[0] && !seen[mig[1]] {
				seen[mig[1]] = true
				queue = append(queue, mig[1])
			}
		}
	}
	return false
}

// seed returns the machines cfg describes, panicking as New documents.
func seed(cfg Config) map[string]*machine {
	machines := make(map[string]*machine, len(cfg.Machines))
	seen := map[string]bool{} // every version ID, for VersionClientInfo
	for _, slug := range sortedKeys(cfg.Machines) {
		m := &machine{createdAt: seededAt(0)}
		for _, id := range cfg.Machines[slug] {
			if id == "" {
				panic(fmt.Sprintf("emulator: Config.Machines[%q] has an empty version ID", slug))
			}
			if m.version(id) == nil {
				m.versions = append(m.versions, versionInfo{ID: id, CreatedAt: seededAt(len(m.versions) + 1), ClientInfo: cfg.VersionClientInfo[id]})
			}
			seen[id] = true
		}
		machines[slug] = m
	}
	for _, id := range sortedKeys(cfg.VersionClientInfo) {
		if !seen[id] {
			panic(fmt.Sprintf("emulator: Config.VersionClientInfo names version %q, which no machine in Config.Machines has", id))
		}
	}
	for _, slug := range sortedKeys(cfg.CurrentVersions) {
		m := seeded(machines, "CurrentVersions", slug)
		m.current = seededVersion(m, cfg.CurrentVersions[slug], "Config.CurrentVersions[%q]", slug)
	}
	for _, slug := range sortedKeys(cfg.Migrations) {
		m := seeded(machines, "Migrations", slug)
		for i, mig := range cfg.Migrations[slug] {
			seededVersion(m, mig[0], "Config.Migrations[%q][%d][0]", slug, i)
			seededVersion(m, mig[1], "Config.Migrations[%q][%d][1]", slug, i)
			m.migrations = append(m.migrations, mig)
		}
	}
	seedInstances(machines, cfg)
	return machines
}

// seedInstances adds the instances of cfg to machines, with their versions,
// statuses, states and contexts.
func seedInstances(machines map[string]*machine, cfg Config) {
	for _, slug := range sortedKeys(cfg.Instances) {
		m := seeded(machines, "Instances", slug)
		first := ""
		if len(m.versions) > 0 {
			first = m.versions[0].ID
		}
		for _, s := range cfg.Instances[slug] {
			if !validSlug(s) {
				panic(fmt.Sprintf("emulator: Config.Instances[%q] has %q, which does not match %s", slug, s, slugRule))
			}
		}
		sorted := slices.Compact(slices.Sorted(slices.Values(cfg.Instances[slug])))
		m.instances = make([]*instance, 0, len(sorted))
		created := seededAt(len(m.versions) + 1) // one string for all: a million instances may be seeded
		for _, s := range sorted {
			m.instances = append(m.instances, &instance{slug: s, createdAt: created, version: first})
		}
	}
	for _, slug := range sortedKeys(cfg.InstanceVersions) {
		m := seeded(machines, "InstanceVersions", slug)
		for _, s := range sortedKeys(cfg.InstanceVersions[slug]) {
			in := seededInstance(m, s, "InstanceVersions", slug)
			in.version = seededVersion(m, cfg.InstanceVersions[slug][s], "Config.InstanceVersions[%q][%q]", slug, s)
		}
	}
	for _, slug := range sortedKeys(cfg.PausedInstances) {
		m := seeded(machines, "PausedInstances", slug)
		for _, s := range cfg.PausedInstances[slug] {
			seededInstance(m, s, "PausedInstances", slug).paused = true
		}
	}
	for _, slug := range sortedKeys(cfg.InstanceStates) {
		m := seeded(machines, "InstanceStates", slug)
		for _, s := range sortedKeys(cfg.InstanceStates[slug]) {
			in := seededInstance(m, s, "InstanceStates", slug)
			st := seedState(cfg.InstanceStates[slug][s], fmt.Sprintf("Config.InstanceStates[%q][%q]", slug, s))
			in.state, in.context = st.State, st.Context
		}
	}
}

// seeded returns machine slug, which Config.field names, or panics.
func seeded(machines map[string]*machine, field, slug string) *machine {
	m, ok := machines[slug]
	if !ok {
		panic(fmt.Sprintf("emulator: Config.%s names machine %q, which is not in Config.Machines", field, slug))
	}
	return m
}

// seededInstance returns m's instance slug, which Config.field[machine]
// names, or panics.
func seededInstance(m *machine, slug, field, machine string) *instance {
	in := m.instance(slug)
	if in == nil {
		panic(fmt.Sprintf("emulator: Config.%s[%q] names instance %q, which is not in Config.Instances[%q]", field, machine, slug, machine))
	}
	return in
}

// seededVersion returns id if it is a version of m, or panics naming where
// the config has it.
func seededVersion(m *machine, id string, where string, args ...any) string {
	if m.version(id) == nil {
		panic(fmt.Sprintf("emulator: %s is %q, which is not a version of that machine in Config.Machines", fmt.Sprintf(where, args...), id))
	}
	return id
}
