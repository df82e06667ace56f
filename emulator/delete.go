package emulator

import (
	"crypto/hmac"
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
	return base64.RawURLEncoding.EncodeToString(mac([]byte(machine), name))
}

// confirmDelete checks the body of a delete: exactly the danger flag, true,
// and macParam, equal to want (unpadded base64url, compared as sent).
func confirmDelete(r *http.Request, body []byte, macParam, want, of string) *apiError {
	obj, p := jsonBody(r, body, "the body takes only "+dangerParam+" and "+macParam, dangerParam, macParam)
	if p != nil {
		return p
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
func (e *Emulator) deleteMachine(r *http.Request, body []byte, m *machine) (any, *apiError) {
	slug := r.PathValue("machine")
	if p := confirmDelete(r, body, machineMACParam, nameMAC(slug, slug), "the machine name"); p != nil {
		return nil, p
	}
	if len(m.instances) > 0 {
		return nil, &apiError{status: http.StatusConflict, Code: "invalid-state",
			Message: fmt.Sprintf("machine %q cannot be deleted while instances exist (%d): delete each with DELETE /machines/%s/i/{instanceSlug} first", slug, len(m.instances), slug)}
	}
	delete(e.machines, slug)
	return nil, nil
}

// deleteInstance checks DELETE /machines/{slug}/i/{instance} and deletes the
// instance.
func (e *Emulator) deleteInstance(r *http.Request, body []byte, m *machine) (any, *apiError) {
	slug, name := r.PathValue("machine"), r.PathValue("instance")
	if p := confirmDelete(r, body, instanceMACParam, nameMAC(slug, name), "the instance name"); p != nil {
		return nil, p
	}
	i, found := m.instanceIndex(name)
	if !found {
		return nil, notFound("instance")
	}
	m.removeInstance(i)
	return nil, nil
}

// removeInstance removes m.instances[i], moving whichever side of it is
// shorter: a teardown deletes in slug order, from the front, and moving a
// million instances' tail for each would take minutes.
func (m *machine) removeInstance(i int) {
	if i >= len(m.instances)/2 {
		m.instances = slices.Delete(m.instances, i, i+1)
		return
	}
	copy(m.instances[1:i+1], m.instances[:i])
	m.instances[0] = nil // the array keeps the slot: let the instance go
	m.instances = m.instances[1:]
}
