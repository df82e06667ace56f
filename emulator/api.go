package emulator

import (
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

const (
	scopeWrite  = "machine-versions.write"
	maxJSONBody = 64 << 10
	idParam     = "signedMachineVersionMigrationId"
)

// ciScopes are the scopes of a key made with `smply keys create --use ci`
// (docs/api.md, "Scopes"): it reads and writes machines and their versions,
// and cannot list, move or delete instances, nor delete a machine.
var ciScopes = []string{"machines.read", "machines.write", "machine-versions.read", scopeWrite}

// CIScopes returns the scopes the tokens of Config.CIKeys have.
func CIScopes() []string { return slices.Clone(ciScopes) }

// slugRule is the API's pattern for machine and instance names. validSlug
// checks it as "+" and a length: a bounded repeat compiles large, at every
// start of any binary that links the emulator.
const slugRule = `^[a-zA-Z0-9_-]{1,128}$`

var slugChars = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func validSlug(s string) bool { return len(s) <= 128 && slugChars.MatchString(s) }

// apiError is a StateBacked error body and the status it is sent with.
type apiError struct {
	status    int
	Message   string `json:"error"`
	Code      string `json:"code"`
	Parameter string `json:"parameter,omitempty"`
}

// badParam returns a 400 invalid-parameter error naming param ("" for the body as a whole).
func badParam(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...), Code: "invalid-parameter", Parameter: param}
}

// notFound returns the 404 for a missing machine or instance.
func notFound(what string) *apiError {
	return &apiError{status: http.StatusNotFound, Message: what + " not found", Code: "not-found"}
}

// apiFunc answers an API request that passed checkCaller: the JSON to answer
// (nil for no body), or the error.
type apiFunc func(r *http.Request, body []byte) (any, *apiError)

// api returns the handler of an API route: checkCaller, then f, answered
// with status ok and the JSON f returns (no body if it returns nil), or the
// error.
func (e *Emulator) api(step Step, scope string, ok int, f apiFunc) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		var res any
		p := e.checkCaller(r, step, scope)
		if p == nil {
			res, p = f(r, body)
		}
		switch {
		case p != nil:
			writeJSON(w, p.status, p)
		case res == nil:
			w.WriteHeader(ok)
		default:
			writeJSON(w, ok, res)
		}
	}
}

// withMachine returns an apiFunc that calls f with e.mu held and the machine
// the path names, or answers 404 if it was deleted since checkCaller found it.
func (e *Emulator) withMachine(f func(r *http.Request, body []byte, m *machine) (any, *apiError)) apiFunc {
	return func(r *http.Request, body []byte) (any, *apiError) {
		e.mu.Lock()
		defer e.mu.Unlock()
		m, ok := e.machines[r.PathValue("machine")]
		if !ok {
			return nil, notFound("machine")
		}
		return f(r, body, m)
	}
}

// checkCaller applies the checks every API endpoint shares: token, org,
// scope, the slugs in the path, and that the machine exists.
func (e *Emulator) checkCaller(r *http.Request, step Step, scope string) *apiError {
	scopes := e.cfg.Scopes // Token's; nil is every scope
	auth := r.Header.Get("Authorization")
	if subtle.ConstantTimeCompare([]byte(auth), []byte("Bearer "+e.cfg.Token)) != 1 {
		s, p := e.checkKeyToken(strings.TrimPrefix(auth, "Bearer "), time.Now())
		if p != nil {
			return p
		}
		scopes = s
	}
	switch org := r.Header.Get("x-statebacked-org-id"); {
	case org == "" && len(e.cfg.Orgs) > 1:
		return &apiError{status: http.StatusBadRequest, Code: "specify-org",
			Message: "the user belongs to several orgs: name one in the x-statebacked-org-id header"}
	case org != "" && len(e.cfg.Orgs) > 0 && !slices.Contains(e.cfg.Orgs, org):
		return &apiError{status: http.StatusForbidden, Code: "missing-org",
			Message: fmt.Sprintf("the user is not a member of org %q", org)}
	}
	if scopes != nil && !slices.Contains(scopes, scope) {
		return &apiError{status: http.StatusForbidden, Code: "missing-scope",
			Message: "the token lacks the " + scope + " scope"}
	}
	if step == StepCreateMachine { // the slug is in the body
		return nil
	}
	slug, inst := r.PathValue("machine"), r.PathValue("instance")
	if !validSlug(slug) {
		return badParam("machineSlug", "machine slug %q does not match %s", slug, slugRule)
	}
	// Not by the path's {instance}: the route for an empty one has none.
	if (step == StepDeleteInstance || step == StepSetInstanceVersion || step == StepReadInstance) && !validSlug(inst) {
		return badParam("instanceSlug", "instance slug %q does not match %s", inst, slugRule)
	}
	e.mu.Lock()
	_, ok := e.machines[slug]
	e.mu.Unlock()
	if !ok {
		return notFound("machine")
	}
	return nil
}

// jsonObject decodes a JSON object body sent with content-type application/json.
func jsonObject(r *http.Request, body []byte) (map[string]json.RawMessage, *apiError) {
	if len(body) > maxJSONBody {
		return nil, badParam("", "request body is larger than %d bytes", maxJSONBody)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, badParam("", "content-type must be application/json, not %q", r.Header.Get("Content-Type"))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, badParam("", "request body must be a JSON object")
	}
	return obj, nil
}

// jsonBody decodes a JSON object body as jsonObject does, and refuses the
// first property, in name order, that is not one of keys: "unexpected
// property", then takes, which says what the body takes.
func jsonBody(r *http.Request, body []byte, takes string, keys ...string) (map[string]json.RawMessage, *apiError) {
	obj, p := jsonObject(r, body)
	if p != nil {
		return nil, p
	}
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(keys, k) {
			return nil, badParam(k, "unexpected property %q: %s", k, takes)
		}
	}
	return obj, nil
}

// emptyBody checks the body of a request that takes none: nothing, or an
// empty JSON object.
func emptyBody(r *http.Request, body []byte, what string) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	_, p := jsonBody(r, body, what+" takes an empty body")
	return p
}

// nonEmptyString decodes property k of obj, which must be a non-empty string.
func nonEmptyString(obj map[string]json.RawMessage, k string) (string, *apiError) {
	var s string
	if err := json.Unmarshal(obj[k], &s); err != nil || s == "" {
		return "", badParam(k, "%s must be a non-empty string", k)
	}
	return s, nil
}

// gzipFlag reads the gzip query flag: present bare or as true/1 means the
// code will be uploaded gzipped.
func gzipFlag(q url.Values) (bool, *apiError) {
	v, ok := q["gzip"]
	if !ok {
		return false, nil
	}
	switch v[0] {
	case "", "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, badParam("gzip", "gzip must be true or false, not %q", v[0])
}

// writeJSON answers v as JSON. As the API's JSON.stringify does, it leaves
// <, > and & as they are, so a seeded context comes back byte for byte.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// provisioned is the answer to provisioning: the signed ID of the migration,
// or of the version, and where to upload its code.
type provisioned struct {
	MigrationID string            `json:"machineVersionMigrationId,omitempty"`
	VersionID   string            `json:"machineVersionId,omitempty"`
	URL         string            `json:"codeUploadUrl"`
	Fields      map[string]string `json:"codeUploadFields"`
}

// provision answers POST /machines/{slug}/migrations: if the body names two
// versions of the machine, it issues a migration between them, with its
// presigned upload.
func (e *Emulator) provision(r *http.Request, body []byte) (any, *apiError) {
	slug := r.PathValue("machine")
	gz, p := gzipFlag(r.URL.Query())
	if p != nil {
		return nil, p
	}
	keys := []string{"fromMachineVersionId", "toMachineVersionId"}
	var obj map[string]json.RawMessage
	if e.cfg.AllowExtraProvisionFields {
		obj, p = jsonObject(r, body)
	} else {
		obj, p = jsonBody(r, body, "the body takes only fromMachineVersionId and toMachineVersionId", keys...)
	}
	if p != nil {
		return nil, p
	}
	e.mu.Lock()
	var known []string
	if m, ok := e.machines[slug]; ok { // deleted since checkCaller if not
		for _, v := range m.versions {
			known = append(known, v.ID)
		}
	}
	e.mu.Unlock()
	var versions []string
	for _, k := range keys {
		v, p := nonEmptyString(obj, k)
		if p != nil {
			return nil, p
		}
		if !slices.Contains(known, v) {
			return nil, badParam(k, "machine version %q does not exist for machine %q", v, slug)
		}
		versions = append(versions, v)
	}
	return e.issue(r, &migration{Deploy: Deploy{Machine: slug, From: versions[0], To: versions[1], Gzip: gz}})
}

// provisionVersion answers POST /machines/{slug}/v, whose body is empty:
// see issue.
func (e *Emulator) provisionVersion(r *http.Request, body []byte) (any, *apiError) {
	gz, p := gzipFlag(r.URL.Query())
	if p != nil {
		return nil, p
	}
	if p := emptyBody(r, body, "provisioning a version"); p != nil {
		return nil, p
	}
	return e.issue(r, &migration{Deploy: Deploy{Version: true, Machine: r.PathValue("machine"), Gzip: gz}})
}

// issue records m, a migration or (with m.Version set) a version of
// m.Machine being provisioned, under a new ID, and answers its signed ID and
// the presigned upload of its code: from Config.Uploads if set, else from
// the emulator's own S3 stand-in.
func (e *Emulator) issue(r *http.Request, m *migration) (any, *apiError) {
	prefix, dir := "mvm_", "migrations/"
	if m.Version {
		prefix, dir = "ver_", "versions/"
	}
	m.ID = prefix + hex.EncodeToString(randomBytes(8))
	m.SignedID = m.ID + "." + sign(e.idKey, m.ID)
	m.key = dir + m.Machine + "/" + m.ID + ".js"
	maxSize := e.cfg.Limits.Plain
	if m.Gzip {
		maxSize = e.cfg.Limits.Gzipped
	}
	var uploadURL string
	if e.cfg.Uploads != nil {
		policy := UploadPolicy{Key: m.key, MaxBytes: int64(maxSize), ContentType: "application/javascript"}
		if m.Gzip {
			policy.ContentEncoding = "gzip"
		}
		var err error
		if uploadURL, m.fields, err = e.cfg.Uploads.Presign(r.Context(), policy); err != nil {
			return nil, targetError("presign the upload", err)
		}
		m.fields = maps.Clone(m.fields) // the target may keep its map
	} else {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		uploadURL, m.fields = scheme+"://"+r.Host+"/upload/"+bucket, e.presign(m.key, maxSize, m.Gzip)
	}
	e.mu.Lock()
	e.migrations = append(e.migrations, m)
	e.mu.Unlock()
	if m.Version {
		return provisioned{VersionID: m.SignedID, URL: uploadURL, Fields: m.fields}, nil
	}
	return provisioned{MigrationID: m.SignedID, URL: uploadURL, Fields: m.fields}, nil
}

// finalized is the answer to finalizing: the public ID of the migration, or
// of the version.
type finalized struct {
	MigrationID string `json:"machineVersionMigrationId,omitempty"`
	VersionID   string `json:"machineVersionId,omitempty"`
}

// finalize answers PUT /machines/{slug}/migrations/{signedID}: see complete.
func (e *Emulator) finalize(r *http.Request, body []byte) (any, *apiError) {
	if p := emptyBody(r, body, "finalizing a migration"); p != nil {
		return nil, p
	}
	return e.complete(r, idParam, nil)
}

var errNotObject = errors.New("not a JSON object")

// finalizeVersion answers PUT /machines/{slug}/v/{signedId}, whose body
// sets what a version's Deploy records from it: see complete.
func (e *Emulator) finalizeVersion(r *http.Request, body []byte) (any, *apiError) {
	obj, p := jsonObject(r, body)
	if p != nil {
		return nil, p
	}
	var v Deploy
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
	return e.complete(r, versionParam, &v)
}

// complete finalizes the migration, or with v (what the body gave) the
// version, that the path's signed ID names, after checking that it belongs
// to the path's machine and has its code uploaded; param names the signed ID
// in errors. A finalized
// migration exists, for setting instances' versions. A finalized version
// exists for the machine: migrations can name it, and it is listed, created
// now, and current if finalized with makeCurrent. Finalizing again answers
// the same and changes nothing.
func (e *Emulator) complete(r *http.Request, param string, v *Deploy) (any, *apiError) {
	slug := r.PathValue("machine")
	id, sig, _ := strings.Cut(r.PathValue("signedID"), ".")
	if !verify(e.idKey, id, sig) {
		return nil, badParam(param, "signed id does not verify: use the id that provisioning returned")
	}
	e.mu.Lock()
	m := e.find(func(m *migration) bool { return m.ID == id })
	e.mu.Unlock()
	switch {
	case m == nil || m.Version != (v != nil): // unreachable while only IDs this emulator issued verify
		return nil, badParam(param, "%s does not exist", id)
	case m.Machine != slug: // Machine and key never change after provision
		return nil, badParam(param, "%s belongs to machine %q, not %q", id, m.Machine, slug)
	}
	var fetched []byte
	if e.cfg.Uploads != nil { // outside the lock: it is a request to another server
		code, err := e.cfg.Uploads.Fetch(r.Context(), m.key)
		switch {
		case errors.Is(err, fs.ErrNotExist): // nothing was uploaded
		case err != nil:
			return nil, targetError("read the upload", err)
		case code == nil:
			fetched = []byte{} // an empty object is still an upload
		default:
			fetched = code
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if fetched != nil {
		m.Code = fetched
	}
	if m.Code == nil {
		return nil, badParam(param, "no code was uploaded for %s: upload it to codeUploadUrl before finalizing", id)
	}
	m.Finalized = true
	mach, ok := e.machines[slug]
	if !ok { // deleted since checkCaller
		return nil, notFound("machine")
	}
	if v == nil {
		if edge := [2]string{m.From, m.To}; !slices.Contains(mach.migrations, edge) {
			mach.migrations = append(mach.migrations, edge)
		}
		return finalized{MigrationID: m.ID}, nil
	}
	if mach.version(m.ID) == nil { // finalized for the first time
		m.ClientInfo, m.MakeCurrent, m.IndexSelectors = v.ClientInfo, v.MakeCurrent, v.IndexSelectors
		mach.versions = append(mach.versions, versionInfo{ID: m.ID, CreatedAt: stamp(time.Now()), ClientInfo: v.ClientInfo})
		if v.MakeCurrent {
			mach.current = m.ID
		}
	}
	return finalized{VersionID: m.ID}, nil
}
