package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// The body properties a delete takes: the confirmation, and the proof that the
// caller knows the name of what it deletes.
const (
	dangerParam      = "dangerDataWillBeDeletedForever"
	machineMACParam  = "hmacSha256OfMachineNameWithMachineNameKey"
	instanceMACParam = "hmacSha256OfMachineInstanceNameWithMachineNameKey"
)

// nameMAC returns base64url, unpadded, of HMAC-SHA256 of name keyed with the
// machine name: the proof of intent a delete must carry.
func nameMAC(machine, name string) string {
	mac := hmac.New(sha256.New, []byte(machine))
	mac.Write([]byte(name))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// confirmDelete checks the body of a delete: exactly the danger flag, true,
// and macParam, equal to want (unpadded base64url, compared as sent).
func confirmDelete(r *http.Request, body []byte, macParam, want, of string) *apiError {
	obj, p := jsonObject(r, body)
	if p != nil {
		return p
	}
	for _, k := range sortedKeys(obj) {
		if k != dangerParam && k != macParam {
			return badParam(k, "unexpected property %q: the body takes only %s and %s", k, dangerParam, macParam)
		}
	}
	var danger bool
	if err := json.Unmarshal(obj[dangerParam], &danger); err != nil || !danger {
		return badParam(dangerParam, "%s must be the boolean true: the data will be deleted forever", dangerParam)
	}
	var mac string
	if err := json.Unmarshal(obj[macParam], &mac); err != nil || !hmac.Equal([]byte(mac), []byte(want)) {
		return badParam(macParam, "%s must be the unpadded base64url HMAC-SHA256 of %s, keyed with the machine name", macParam, of)
	}
	return nil
}

// deleteMachine checks DELETE /machines/{slug} and deletes the machine with
// its versions, unless it still has instances.
func (e *Emulator) deleteMachine(r *http.Request, slug string, body []byte) *apiError {
	if p := confirmDelete(r, body, machineMACParam, nameMAC(slug, slug), "the machine name"); p != nil {
		return p
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	list, ok := e.instances[slug]
	switch {
	case !ok: // deleted since checkCaller
		return notFound("machine")
	case len(list) > 0:
		return &apiError{status: http.StatusConflict, Code: "invalid-state",
			Message: fmt.Sprintf("machine %q cannot be deleted while instances exist (%d): delete each with DELETE /machines/%s/i/{instanceSlug} first", slug, len(list), slug)}
	}
	delete(e.cfg.Machines, slug)
	delete(e.instances, slug)
	return nil
}

// instancePage is the answer to a list-instances request.
type instancePage struct {
	Instances []instanceRef `json:"instances"` // never null
	Cursor    string        `json:"cursor,omitempty"`
}

type instanceRef struct {
	Slug string `json:"slug"`
}

// listInstances answers GET /machines/{slug}/i: a page of instances in slug
// order, starting after the slug the cursor encodes. Since the cursor names a
// slug rather than a position, deleting instances between pages neither skips
// nor repeats any.
func (e *Emulator) listInstances(r *http.Request, slug string) (any, *apiError) {
	after := ""
	if q := r.URL.Query(); q.Has("cursor") {
		b, err := base64.RawURLEncoding.DecodeString(q.Get("cursor"))
		if err != nil || !validSlug(string(b)) {
			return nil, badParam("cursor", "cursor %q was not issued here: send the cursor of the previous page verbatim, or none for the first page", q.Get("cursor"))
		}
		after = string(b)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	list, ok := e.instances[slug]
	if !ok { // deleted since checkCaller
		return nil, notFound("machine")
	}
	start, found := slices.BinarySearch(list, after)
	if found {
		start++
	}
	end := min(start+e.cfg.PageSize, len(list))
	page := instancePage{Instances: make([]instanceRef, 0, end-start)}
	for _, s := range list[start:end] {
		page.Instances = append(page.Instances, instanceRef{Slug: s})
	}
	if end < len(list) {
		page.Cursor = base64.RawURLEncoding.EncodeToString([]byte(list[end-1]))
	}
	return page, nil
}

// deleteInstance checks DELETE /machines/{slug}/i/{instance} and deletes the
// instance.
func (e *Emulator) deleteInstance(r *http.Request, slug, instance string, body []byte) *apiError {
	if p := confirmDelete(r, body, instanceMACParam, nameMAC(slug, instance), "the instance name"); p != nil {
		return p
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	list, ok := e.instances[slug]
	if !ok { // deleted since checkCaller
		return notFound("machine")
	}
	i, found := slices.BinarySearch(list, instance)
	if !found {
		return notFound("instance")
	}
	e.instances[slug] = slices.Delete(list, i, i+1)
	return nil
}
