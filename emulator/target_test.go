package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/emulator"
)

// memTarget is an UploadTarget that keeps objects in memory. Tests put an
// object to stand for a client's upload.
type memTarget struct {
	mu         sync.Mutex
	policies   []emulator.UploadPolicy // every Presign, in order
	objects    map[string][]byte
	presignErr error
	fetchErr   error
}

const memURL = "https://s3.test/code-bucket"

func (m *memTarget) Presign(_ context.Context, p emulator.UploadPolicy) (string, map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.presignErr != nil {
		return "", nil, m.presignErr
	}
	m.policies = append(m.policies, p)
	return memURL, map[string]string{"key": p.Key, "policy": fmt.Sprintf("policy-%d", len(m.policies))}, nil
}

func (m *memTarget) Fetch(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fetchErr != nil {
		return nil, m.fetchErr
	}
	b, ok := m.objects[key]
	if !ok {
		return nil, fmt.Errorf("fetch %s: %w", key, fs.ErrNotExist)
	}
	return b, nil
}

func (m *memTarget) presigned() []emulator.UploadPolicy {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.policies)
}

func (m *memTarget) put(key string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objects == nil {
		m.objects = map[string][]byte{}
	}
	m.objects[key] = b
}

func TestUploadTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		query    string
		gzip     bool
		maxBytes int64
		encoding string
	}{
		{name: "plain", maxBytes: 10_000_000},
		{name: "gzip", query: "?gzip", gzip: true, maxBytes: 1_000_000, encoding: "gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target := &memTarget{}
			em, srv := newServer(t, emulator.Config{Uploads: target})

			p := mustProvision(t, srv.URL, tc.query)
			id, _, _ := strings.Cut(p.ID, ".")
			key := "migrations/door/" + id + ".js"
			if diff := cmp.Diff(provisioned{ID: p.ID, URL: memURL, Fields: map[string]string{"key": key, "policy": "policy-1"}}, p); diff != "" {
				t.Errorf("provision did not answer the target's presigned POST (-want +got):\n%s", diff)
			}
			wantPolicy := []emulator.UploadPolicy{{Key: key, MaxBytes: tc.maxBytes, ContentType: "application/javascript", ContentEncoding: tc.encoding}}
			if diff := cmp.Diff(wantPolicy, target.presigned()); diff != "" {
				t.Errorf("Presign calls mismatch (-want +got):\n%s", diff)
			}

			// Before the upload, the target has no object: finalize refuses as without a target.
			r, err := finalize(srv.URL, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := decodeErr(t, r); got != (apiErr{Status: 400, Code: "invalid-parameter", Parameter: "signedMachineVersionMigrationId"}) {
				t.Errorf("finalize before upload = %+v, want 400 invalid-parameter", got)
			}
			if m := em.Migrations(); len(m) != 1 || m[0].Code != nil || m[0].Finalized {
				t.Errorf("Migrations() = %+v, want one, not uploaded or finalized", m)
			}

			file := []byte(code)
			if tc.gzip {
				file = gzipped(file)
			}
			target.put(key, file)
			if r, err := finalize(srv.URL, p.ID); err != nil || r.status != http.StatusOK {
				t.Fatalf("finalize after upload = %d %s %v, want 200", r.status, r.body, err)
			}
			want := []emulator.Deploy{{ID: id, SignedID: p.ID, Machine: "door", From: "ver_1", To: "ver_2", Gzip: tc.gzip, Code: file, Finalized: true}}
			if diff := cmp.Diff(want, em.Migrations()); diff != "" {
				t.Errorf("Migrations() mismatch (-want +got):\n%s", diff)
			}
			wantReqs := []recorded{{emulator.StepProvision, "POST", 200}, {emulator.StepFinalize, "PUT", 400}, {emulator.StepFinalize, "PUT", 200}}
			if diff := cmp.Diff(wantReqs, summarize(em.Requests())); diff != "" {
				t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUploadTargetFails(t *testing.T) {
	t.Parallel()
	down := errors.New("connection refused")
	t.Run("presign", func(t *testing.T) {
		t.Parallel()
		em, srv := newServer(t, emulator.Config{Uploads: &memTarget{presignErr: down}})
		r := mustSend(t, "POST", srv.URL+"/machines/door/migrations", apiHeader(), []byte(provisionBody))
		got, msg := decodeErr(t, r)
		if got != (apiErr{Status: 502, Code: "upload-target-failed"}) || !strings.Contains(msg, down.Error()) {
			t.Errorf("provision = %+v %q, want 502 upload-target-failed naming the cause", got, msg)
		}
		if m := em.Migrations(); len(m) != 0 {
			t.Errorf("Migrations() = %+v, want none", m)
		}
	})
	t.Run("fetch", func(t *testing.T) {
		t.Parallel()
		target := &memTarget{}
		em, srv := newServer(t, emulator.Config{Uploads: target})
		p := mustProvision(t, srv.URL, "")
		id, _, _ := strings.Cut(p.ID, ".")
		target.put("migrations/door/"+id+".js", []byte(code))
		target.mu.Lock()
		target.fetchErr = down
		target.mu.Unlock()
		r, err := finalize(srv.URL, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, msg := decodeErr(t, r); got != (apiErr{Status: 502, Code: "upload-target-failed"}) || !strings.Contains(msg, down.Error()) {
			t.Errorf("finalize = %+v %q, want 502 upload-target-failed naming the cause", got, msg)
		}
		if m := em.Migrations(); len(m) != 1 || m[0].Code != nil || m[0].Finalized {
			t.Errorf("Migrations() = %+v, want one, not uploaded or finalized", m)
		}
	})
}
