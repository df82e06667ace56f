package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"time"
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
	if m, ok := e.machines[slug]; ok {
		return slices.Clone(m.indexes)
	}
	return nil
}

// provisionVersion answers POST /machines/{slug}/v, whose body is empty.
func (e *Emulator) provisionVersion(r *http.Request, body []byte) (any, *apiError) {
	slug := r.PathValue("machine")
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
// version exists for the machine: migrations can name it, and it is listed,
// created now, and current if finalized with makeCurrent. Finalizing again
// answers the same and changes nothing.
func (e *Emulator) finalizeVersion(r *http.Request, body []byte) (any, *apiError) {
	v, p := finalizeBody(r, body)
	if p != nil {
		return nil, p
	}
	slug := r.PathValue("machine")
	m, p := e.complete(r, slug, r.PathValue("signedID"), versionParam, true)
	if p != nil {
		return nil, p
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	mach, p := e.machineLocked(slug)
	if p != nil {
		return nil, p
	}
	if mach.version(m.ID) == nil {
		*m.version = v
		mach.versions = append(mach.versions, versionInfo{ID: m.ID, CreatedAt: stamp(time.Now()), ClientInfo: v.ClientInfo})
		if v.MakeCurrent {
			mach.current = m.ID
		}
	}
	return struct {
		ID string `json:"machineVersionId"`
	}{m.ID}, nil
}

// finalizeBody reads the body of a version finalize into what it sets.
func finalizeBody(r *http.Request, body []byte) (Version, *apiError) {
	var v Version
	obj, p := jsonObject(r, body)
	if p != nil {
		return v, p
	}
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
			return v, badParam(k, "unexpected property %q: finalizing a version takes clientInfo, makeCurrent and indexSelectors", k)
		}
		if err != nil {
			return v, badParam(k, "%s has the wrong type", k)
		}
	}
	return v, nil
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
	if _, ok := e.machines[slug]; ok {
		return nil, &apiError{status: http.StatusConflict, Code: "invalid-state", Message: "machine " + slug + " already exists"}
	}
	e.machines[slug] = &machine{createdAt: stamp(time.Now()), indexes: indexes}
	return map[string]string{"slug": slug}, nil
}

// getMachine answers GET /machines/{slug}: when it was created, and its
// current version, absent before it has one.
func (e *Emulator) getMachine(r *http.Request, _ []byte) (any, *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, p := e.machineLocked(r.PathValue("machine"))
	if p != nil {
		return nil, p
	}
	type machineJSON struct {
		CreatedAt      string       `json:"createdAt"`
		CurrentVersion *versionInfo `json:"currentVersion,omitempty"`
	}
	return map[string]machineJSON{"machine": {m.createdAt, m.version(m.current)}}, nil
}

// versionPage is the answer to a list-versions request.
type versionPage struct {
	Versions []versionInfo `json:"versions"` // never null
	Cursor   string        `json:"cursor,omitempty"`
}

// listVersions answers GET /machines/{slug}/v: a page of the seeded and
// finalized versions, newest first, starting before the version the cursor
// names. Since versions are only added, as the newest, naming one rather
// than a position neither skips nor repeats any when some are added between
// pages.
func (e *Emulator) listVersions(r *http.Request, _ []byte) (any, *apiError) {
	after, hasCursor, p := cursorOf(r)
	if p != nil {
		return nil, p
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, p := e.machineLocked(r.PathValue("machine"))
	if p != nil {
		return nil, p
	}
	end := len(m.versions) // the page is m.versions[start:end], reversed
	if hasCursor {
		end = slices.IndexFunc(m.versions, func(v versionInfo) bool { return v.ID == after })
		if end < 0 {
			return nil, badCursor(r)
		}
	}
	start := max(end-e.cfg.PageSize, 0)
	page := versionPage{Versions: append(make([]versionInfo, 0, end-start), m.versions[start:end]...)}
	slices.Reverse(page.Versions)
	if start > 0 {
		page.Cursor = base64.RawURLEncoding.EncodeToString([]byte(m.versions[start].ID))
	}
	return page, nil
}
