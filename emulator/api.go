package emulator

import (
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

// stepScopes names the scope each API step needs.
var stepScopes = map[Step]string{
	StepProvision:          scopeWrite,
	StepFinalize:           scopeWrite,
	StepProvisionVersion:   scopeWrite,
	StepFinalizeVersion:    scopeWrite,
	StepGetMachine:         "machines.read",
	StepCreateMachine:      "machines.write",
	StepDeleteMachine:      "machines.admin",
	StepListInstances:      "instances.read",
	StepDeleteInstance:     "instances.admin",
	StepListVersions:       "machine-versions.read",
	StepSetInstanceVersion: "instances.write",
	StepReadInstance:       "instances.admin",
}

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

// api returns the handler of an API route: the checks every endpoint
// shares, then f, answered with status ok and the JSON f returns (no body if
// it returns nil), or the error.
func (e *Emulator) api(step Step, ok int, f apiFunc) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		var res any
		p := e.checkCaller(r, step)
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

// notFound returns the 404 for a missing machine or instance.
// machineLocked returns the machine slug, with e.mu held: not found if it
// was deleted since checkCaller found it.
func (e *Emulator) machineLocked(slug string) (*machine, *apiError) {
	m, ok := e.machines[slug]
	if !ok {
		return nil, notFound("machine")
	}
	return m, nil
}

func notFound(what string) *apiError {
	return &apiError{status: http.StatusNotFound, Message: what + " not found", Code: "not-found"}
}

// checkCaller applies the checks every API endpoint shares: token, org, the
// step's scope, the slugs in the path, and that the machine exists.
func (e *Emulator) checkCaller(r *http.Request, step Step) *apiError {
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
	if scope := stepScopes[step]; scopes != nil && !slices.Contains(scopes, scope) {
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
	if !e.HasMachine(slug) {
		return notFound("machine")
	}
	return nil
}

// provisioned is the answer to a provision request.
type provisioned struct {
	ID     string            `json:"machineVersionMigrationId"`
	URL    string            `json:"codeUploadUrl"`
	Fields map[string]string `json:"codeUploadFields"`
}

// provision checks the body of POST /machines/{slug}/migrations and, if it
// is valid, issues a migration with its presigned upload.
func (e *Emulator) provision(r *http.Request, body []byte) (any, *apiError) {
	slug := r.PathValue("machine")
	gz, p := gzipFlag(r.URL.Query())
	if p != nil {
		return nil, p
	}
	obj, p := jsonObject(r, body)
	if p != nil {
		return nil, p
	}
	keys := []string{"fromMachineVersionId", "toMachineVersionId"}
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(keys, k) && !e.cfg.AllowExtraProvisionFields {
			return nil, badParam(k, "unexpected property %q: the body takes only fromMachineVersionId and toMachineVersionId", k)
		}
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
		var v string
		if err := json.Unmarshal(obj[k], &v); err != nil || v == "" {
			return nil, badParam(k, "%s must be a non-empty string", k)
		}
		if !slices.Contains(known, v) {
			return nil, badParam(k, "machine version %q does not exist for machine %q", v, slug)
		}
		versions = append(versions, v)
	}

	id := "mvm_" + hex.EncodeToString(randomBytes(8))
	m := &migration{
		Migration: Migration{ID: id, SignedID: id + "." + sign(e.idKey, id), Machine: slug, From: versions[0], To: versions[1], Gzip: gz},
		key:       "migrations/" + slug + "/" + id + ".js",
	}
	uploadURL, p := e.issue(r, m)
	if p != nil {
		return nil, p
	}
	return provisioned{ID: m.SignedID, URL: uploadURL, Fields: m.fields}, nil
}

// issue presigns the upload of m's code and records m; it returns the URL
// to upload to.
func (e *Emulator) issue(r *http.Request, m *migration) (string, *apiError) {
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
		var p *apiError
		if uploadURL, m.fields, p = presignAt(r.Context(), e.cfg.Uploads, policy); p != nil {
			return "", p
		}
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
	return uploadURL, nil
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

// finalized is the answer to a finalize request.
type finalized struct {
	ID string `json:"machineVersionMigrationId"`
}

// finalize checks PUT /machines/{slug}/migrations/{signedID} and marks the
// migration finalized: it exists, for setting instances' versions. Finalizing
// again answers the same.
func (e *Emulator) finalize(r *http.Request, body []byte) (any, *apiError) {
	if p := emptyBody(r, body, "finalizing a migration"); p != nil {
		return nil, p
	}
	slug := r.PathValue("machine")
	m, p := e.complete(r, slug, r.PathValue("signedID"), idParam, false)
	if p != nil {
		return nil, p
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	mach, p := e.machineLocked(slug)
	if p != nil {
		return nil, p
	}
	if edge := [2]string{m.From, m.To}; !slices.Contains(mach.migrations, edge) {
		mach.migrations = append(mach.migrations, edge)
	}
	return finalized{ID: m.ID}, nil
}

// complete finalizes the record that signedID names, after checking that it
// belongs to machine slug, is of the right kind, and has its code uploaded.
// param names the signed ID in errors.
func (e *Emulator) complete(r *http.Request, slug, signedID, param string, version bool) (*migration, *apiError) {
	id, sig, _ := strings.Cut(signedID, ".")
	if !verify(e.idKey, id, sig) {
		return nil, badParam(param, "signed id does not verify: use the id that provisioning returned")
	}
	e.mu.Lock()
	m := e.find(func(m *migration) bool { return m.ID == id })
	e.mu.Unlock()
	switch {
	case m == nil || (m.version != nil) != version: // unreachable while only IDs this emulator issued verify
		return nil, badParam(param, "%s does not exist", id)
	case m.Machine != slug: // Machine and key never change after provision
		return nil, badParam(param, "%s belongs to machine %q, not %q", id, m.Machine, slug)
	}
	var fetched []byte
	if e.cfg.Uploads != nil { // outside the lock: it is a request to another server
		var p *apiError
		if fetched, p = fetchFrom(r.Context(), e.cfg.Uploads, m.key); p != nil {
			return nil, p
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
	return m, nil
}

// emptyBody checks the body of a request that takes none: nothing, or an
// empty JSON object.
func emptyBody(r *http.Request, body []byte, what string) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	obj, p := jsonObject(r, body)
	if p != nil {
		return p
	}
	if keys := sortedKeys(obj); len(keys) > 0 {
		return badParam(keys[0], "unexpected property %q: %s takes an empty body", keys[0], what)
	}
	return nil
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
