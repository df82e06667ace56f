package emulator

import (
	"encoding/base64"
	"net/http"
)

const targetParam = "targetMachineVersionId"

// instancePage is the answer to a list-instances request.
type instancePage struct {
	Instances []instanceItem `json:"instances"` // never null
	Cursor    string         `json:"cursor,omitempty"`
}

// instanceItem is one instance as the listing describes it.
type instanceItem struct {
	Slug      string `json:"slug"`
	CreatedAt string `json:"createdAt"`
	Status    string `json:"status"` // running or paused
	// MachineVersion is the version the instance runs now, not the one set
	// for it; absent only if its machine had no version when it was seeded.
	MachineVersion *versionInfo `json:"machineVersion,omitempty"`
}

// listInstances answers GET /machines/{slug}/i: a page of instances in slug
// order, starting after the slug the cursor encodes. Since the cursor names a
// slug rather than a position, deleting instances between pages neither skips
// nor repeats any.
func (e *Emulator) listInstances(r *http.Request, _ []byte, m *machine) (any, *apiError) {
	after, hasCursor, p := cursorOf(r)
	if p == nil && hasCursor && !validSlug(after) {
		p = badCursor(r)
	}
	if p != nil {
		return nil, p
	}
	start, found := m.instanceIndex(after)
	if found {
		start++
	}
	end := min(start+e.cfg.PageSize, len(m.instances))
	page := instancePage{Instances: make([]instanceItem, 0, end-start)}
	for _, in := range m.instances[start:end] {
		page.Instances = append(page.Instances, instanceItem{in.slug, in.createdAt, in.status(), m.version(in.version)})
	}
	if end < len(m.instances) {
		page.Cursor = base64.RawURLEncoding.EncodeToString([]byte(m.instances[end-1].slug))
	}
	return page, nil
}

// cursorOf decodes the cursor query parameter: what it names, and whether
// there is one. A cursor this emulator issued is base64url, unpadded, of
// something not empty; the caller checks that it names what it should.
func cursorOf(r *http.Request) (string, bool, *apiError) {
	q := r.URL.Query()
	if !q.Has("cursor") {
		return "", false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(q.Get("cursor"))
	if err != nil || len(b) == 0 {
		return "", true, badCursor(r)
	}
	return string(b), true, nil
}

// badCursor is the error for a cursor that was not issued here.
func badCursor(r *http.Request) *apiError {
	return badParam("cursor", "cursor %q was not issued here: send the cursor of the previous page verbatim, or none for the first page", r.URL.Query().Get("cursor"))
}

// setInstanceVersion answers PUT /machines/{slug}/i/{instance}/v by recording
// the version the instance is to run. The API moves the instance only when
// an event next reaches it, so the listing keeps its version.
func (e *Emulator) setInstanceVersion(r *http.Request, body []byte, m *machine) (any, *apiError) {
	obj, p := jsonBody(r, body, "the body takes only "+targetParam, targetParam)
	if p != nil {
		return nil, p
	}
	target, p := nonEmptyString(obj, targetParam)
	if p != nil {
		return nil, p
	}
	in := m.instance(r.PathValue("instance"))
	switch {
	case in == nil:
		return nil, notFound("instance")
	case m.version(target) == nil:
		return nil, badParam(targetParam, "machine version %q does not exist for machine %q", target, r.PathValue("machine"))
	case !m.leadsTo(in.version, target):
		return nil, &apiError{status: http.StatusBadRequest, Code: "no-migration-path",
			Message: "no chain of migrations leads from version " + in.version + " of instance " + in.slug + " to " + target + ": deploy a migration between them first"}
	}
	in.desired = target
	return nil, nil
}
