package emulator

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
)

const versionParam = "signedMachineVersionId"

// Version is the emulator's state for one provisioned machine version.
type Version struct {
	ID        string // public id, returned by finalize, e.g. "ver_<hex>"
	SignedID  string // what provision returned as machineVersionId
	Machine   string
	Gzip      bool   // provisioned with the gzip query flag
	Code      []byte // the uploaded file part as uploaded, nil before upload
	Finalized bool
	// What finalize was given.
	ClientInfo     string
	MakeCurrent    bool
	IndexSelectors json.RawMessage
}

// Versions returns the machine versions provisioned so far, in order.
func (e *Emulator) Versions() []Version {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Version
	for _, m := range e.migrations {
		if m.version != nil {
			v := *m.version
			v.ID, v.SignedID, v.Machine, v.Gzip, v.Finalized = m.ID, m.SignedID, m.Machine, m.Gzip, m.Finalized
			v.Code = bytes.Clone(m.Code)
			v.IndexSelectors = bytes.Clone(v.IndexSelectors)
			out = append(out, v)
		}
	}
	return out
}

// MachineIndexes returns the indexes a machine was created with through the
// API, or nil.
func (e *Emulator) MachineIndexes(slug string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.indexes[slug])
}

// provisionVersion answers POST /machines/{slug}/v, whose body is empty.
func (e *Emulator) provisionVersion(r *http.Request, slug string, body []byte) (any, *apiError) {
	gz, p := gzipFlag(r.URL.Query())
	if p != nil {
		return nil, p
	}
	if p := emptyBody(r, body, "provisioning a version"); p != nil {
		return nil, p
	}
	id := "ver_" + hex.EncodeToString(randomBytes(8))
	m := &migration{
		Migration: Migration{ID: id, SignedID: id + "." + sign(e.idKey, id), Machine: slug, Gzip: gz},
		key:       "versions/" + slug + "/" + id + ".js",
		version:   &Version{},
	}
	uploadURL, p := e.issue(r, m)
	if p != nil {
		return nil, p
	}
	return struct {
		ID     string            `json:"machineVersionId"`
		URL    string            `json:"codeUploadUrl"`
		Fields map[string]string `json:"codeUploadFields"`
	}{m.SignedID, uploadURL, m.fields}, nil
}

// finalizeVersion answers PUT /machines/{slug}/v/{signedId}. A finalized
// version exists for the machine: migrations can name it.
func (e *Emulator) finalizeVersion(r *http.Request, slug, signedID string, body []byte) (any, *apiError) {
	obj, p := jsonObject(r, body)
	if p != nil {
		return nil, p
	}
	var v Version
	for _, k := range sortedKeys(obj) {
		var err error
		switch k {
		case "clientInfo":
			err = json.Unmarshal(obj[k], &v.ClientInfo)
		case "makeCurrent":
			err = json.Unmarshal(obj[k], &v.MakeCurrent)
		case "indexSelectors":
			var sel map[string]json.RawMessage
			if err = json.Unmarshal(obj[k], &sel); err == nil && sel == nil {
				err = errNotObject
			}
			v.IndexSelectors = obj[k]
		default:
			return nil, badParam(k, "unexpected property %q: finalizing a version takes clientInfo, makeCurrent and indexSelectors", k)
		}
		if err != nil {
			return nil, badParam(k, "%s has the wrong type", k)
		}
	}
	m, p := e.complete(r, slug, signedID, versionParam, true)
	if p != nil {
		return nil, p
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(e.cfg.Machines[slug], m.ID) {
		*m.version = v
		// A new slice: readers may hold the old one unlocked.
		e.cfg.Machines[slug] = append(slices.Clone(e.cfg.Machines[slug]), m.ID)
	}
	return struct {
		ID string `json:"machineVersionId"`
	}{m.ID}, nil
}

// createMachine answers POST /machines {"slug": ..., "indexes": [...]}.
func (e *Emulator) createMachine(r *http.Request, body []byte) (any, *apiError) {
	obj, p := jsonObject(r, body)
	if p != nil {
		return nil, p
	}
	var slug string
	var indexes []string
	for _, k := range sortedKeys(obj) {
		switch k {
		case "slug":
			if json.Unmarshal(obj[k], &slug) != nil || !validSlug(slug) {
				return nil, badParam("slug", "slug must be a string matching %s", slugRule)
			}
		case "indexes":
			if json.Unmarshal(obj[k], &indexes) != nil {
				return nil, badParam("indexes", "indexes must be an array of strings")
			}
		default:
			return nil, badParam(k, "unexpected property %q: creating a machine takes slug and indexes", k)
		}
	}
	if slug == "" {
		return nil, badParam("slug", "slug is required")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cfg.Machines[slug]; ok {
		return nil, &apiError{status: http.StatusConflict, Code: "invalid-state", Message: "machine " + slug + " already exists"}
	}
	e.cfg.Machines[slug] = []string{}
	e.instances[slug] = []string{} // every machine has an entry, even with no instances
	if e.indexes == nil {
		e.indexes = map[string][]string{}
	}
	e.indexes[slug] = indexes
	return map[string]string{"slug": slug}, nil
}
