package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

const versionParam = "signedMachineVersionId"

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
func (e *Emulator) getMachine(_ *http.Request, _ []byte, m *machine) (any, *apiError) {
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
func (e *Emulator) listVersions(r *http.Request, _ []byte, m *machine) (any, *apiError) {
	after, hasCursor, p := cursorOf(r)
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
