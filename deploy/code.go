package deploy

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Step names one request of a flow.
type Step string

// The steps of a code deploy: a migration's, a machine version's (whose
// upload is StepUpload too), and those that look up and create a machine.
const (
	StepProvision        Step = "provision"
	StepUpload           Step = "upload"
	StepFinalize         Step = "finalize"
	StepProvisionVersion Step = "provision-version"
	StepFinalizeVersion  Step = "finalize-version"
	StepGetMachine       Step = "get-machine"
	StepCreateMachine    Step = "create-machine"
	StepListVersions     Step = "list-versions"
)

// Code is what one deploy uploads and finalizes: a Migration or a Version.
type Code interface {
	// Filename is the name the uploaded file part carries.
	Filename() string
	endpoints() endpoints
}

// endpoints are all that tells the deploy of a migration from a machine
// version's: the requests' steps and paths, their bodies, what the answers
// call the ID, and the code.
type endpoints struct {
	machine                     string
	provisionStep, finalizeStep Step
	// path is provision's, below the machine's; finalize's is path, "/"
	// and the signed ID.
	path                        string
	provisionBody, finalizeBody any
	// idName names the ID in both answers; finalize may name it altName
	// instead, where the API's spec does.
	idName, altName string
	code            []byte
	gzipped         bool
}

// StepDone reports one finished step.
type StepDone struct {
	Step     Step
	Duration time.Duration
	Bytes    int // bytes of code sent (upload only)
}

// Deploy provisions code, uploads it to the presigned POST and finalizes
// it, calling done (if not nil) after each step. It returns the ID that
// finalize confirmed: the migration's or the machine version's.
//
// A presigned POST expires, and one that did is refused with 403: such an
// upload is provisioned again, once.
func (c *Client) Deploy(ctx context.Context, code Code, done func(StepDone)) (string, error) {
	e := code.endpoints()
	if done == nil {
		done = func(StepDone) {}
	}
	var p *presignedUpload
	var err error
	for try := 1; ; try++ {
		start := time.Now()
		if p, err = c.provision(ctx, code); err != nil {
			return "", err
		}
		done(StepDone{Step: e.provisionStep, Duration: time.Since(start)})
		start = time.Now()
		if err = c.upload(ctx, code, p); err == nil {
			done(StepDone{Step: StepUpload, Duration: time.Since(start), Bytes: len(e.code)})
			break
		}
		if try == 2 || !isAPIError(err, http.StatusForbidden, "") {
			return "", err
		}
		if c.onRetry != nil {
			c.onRetry(RetryEvent{Step: StepUpload, Attempt: 1, Attempts: 2, Err: err, Reprovision: true})
		}
	}
	start := time.Now()
	id, err := c.finalize(ctx, code, p)
	if err != nil {
		return "", err
	}
	done(StepDone{Step: e.finalizeStep, Duration: time.Since(start)})
	return id, nil
}

// provision asks the API where to upload code: the first step of Deploy.
// The upload's secrets are handed to the secret callback before anything
// could print them.
func (c *Client) provision(ctx context.Context, code Code) (*presignedUpload, error) {
	e := code.endpoints()
	path, err := machinePath(e.machine, e.path)
	if err != nil {
		return nil, err
	}
	var query url.Values
	if e.gzipped {
		query = url.Values{"gzip": {"true"}}
	}
	var out struct {
		MigrationID string `json:"machineVersionMigrationId"`
		VersionID   string `json:"machineVersionId"`
		URL         string `json:"codeUploadUrl"`
		Fields      Fields `json:"codeUploadFields"`
	}
	if err := c.call(ctx, e.provisionStep, http.MethodPost, path, query, e.provisionBody, &out); err != nil {
		return nil, err
	}
	id := map[string]string{"machineVersionMigrationId": out.MigrationID, "machineVersionId": out.VersionID}[e.idName]
	return c.checkUpload(e.provisionStep, e.idName, id, out.URL, out.Fields)
}

// upload posts code to the presigned POST that p describes, as
// multipart/form-data: the presigned fields in the server's order, then
// content-type, then content-encoding when gzipped, then the file part last
// (S3 ignores fields after the file). It sends no Authorization header: the
// upload host is not the API. Unless the API is on this machine, it connects
// to public addresses only (see publicOnlyKey).
func (c *Client) upload(ctx context.Context, code Code, p *presignedUpload) error {
	e := code.endpoints()
	body, contentType, err := uploadForm(p.fields, code.Filename(), e.code, e.gzipped)
	if err != nil {
		return err
	}
	if !c.localAPI() {
		ctx = context.WithValue(ctx, publicOnlyKey{}, true)
	}
	r := request{step: StepUpload, method: http.MethodPost, url: p.url, body: body, contentType: contentType}
	return c.retry(ctx, StepUpload, func(ctx context.Context) error { return c.attempt(ctx, r, nil) })
}

// finalize confirms the upload that p describes and returns the ID of what
// was deployed: the last step of Deploy.
func (c *Client) finalize(ctx context.Context, code Code, p *presignedUpload) (string, error) {
	e := code.endpoints()
	path, err := machinePath(e.machine, e.path, "/", url.PathEscape(p.signedID))
	if err != nil {
		return "", err
	}
	var out struct {
		MigrationID string `json:"machineVersionMigrationId"`
		VersionID   string `json:"machineVersionId"`
	}
	if err := c.call(ctx, e.finalizeStep, http.MethodPut, path, nil, e.finalizeBody, &out); err != nil {
		return "", err
	}
	ids := map[string]string{"machineVersionMigrationId": out.MigrationID, "machineVersionId": out.VersionID}
	id := cmp.Or(ids[e.idName], ids[e.altName])
	return id, c.checkServerID(e.finalizeStep, e.idName, id)
}

// Migration is a machine version migration to deploy.
type Migration struct {
	Machine string
	From    string // machine version ID migrated from
	To      string // machine version ID migrated to
	// Code is the bundle to upload: gzipped if Gzipped is true.
	Code    []byte
	Gzipped bool
}

// Filename is the name the uploaded file part carries.
func (m Migration) Filename() string { return fmt.Sprintf("%s_%s_to_%s.js", m.Machine, m.From, m.To) }

// endpoints: the provision body carries only the two version IDs; one
// place in the API's spec names the finalized ID machineVersionId.
func (m Migration) endpoints() endpoints {
	return endpoints{
		machine:       m.Machine,
		provisionStep: StepProvision, finalizeStep: StepFinalize,
		path: "/migrations",
		provisionBody: struct {
			From string `json:"fromMachineVersionId"`
			To   string `json:"toMachineVersionId"`
		}{m.From, m.To},
		finalizeBody: struct{}{},
		idName:       "machineVersionMigrationId", altName: "machineVersionId",
		code: m.Code, gzipped: m.Gzipped,
	}
}

// Version is a machine version to deploy.
type Version struct {
	Machine string
	// Code is the bundle to upload: gzipped if Gzipped is true.
	Code    []byte
	Gzipped bool
	// ClientInfo names the version for people, such as a commit SHA.
	ClientInfo string
	// MakeCurrent makes new instances use this version.
	MakeCurrent bool
	// IndexSelectors is a JSON object, or nil.
	IndexSelectors json.RawMessage
}

// Filename is the name the uploaded file part carries.
func (v Version) Filename() string { return v.Machine + ".js" }

// endpoints: provisioning takes an empty body; finalizing says what the
// version is and whether it becomes current.
func (v Version) endpoints() endpoints {
	return endpoints{
		machine:       v.Machine,
		provisionStep: StepProvisionVersion, finalizeStep: StepFinalizeVersion,
		path:          "/v",
		provisionBody: struct{}{},
		finalizeBody: struct {
			ClientInfo     string          `json:"clientInfo,omitempty"`
			MakeCurrent    bool            `json:"makeCurrent"`
			IndexSelectors json.RawMessage `json:"indexSelectors,omitempty"`
		}{v.ClientInfo, v.MakeCurrent, v.IndexSelectors},
		idName: "machineVersionId",
		code:   v.Code, gzipped: v.Gzipped,
	}
}

// presignedUpload is where and how to upload code, as provision answered.
type presignedUpload struct {
	signedID string // what finalize takes
	url      *url.URL
	fields   Fields // in the server's order
}

// checkUpload checks a provision answer (the signed ID, the upload's URL and
// its fields); decodeJSON has reported its secrets. A hostile or broken API
// must not turn the runner's upload into a request to a service on the
// runner's own machine or network (a cloud metadata service at
// 169.254.169.254, say), nor change what the client itself says of the
// file. So:
//   - the signed ID is an ID (validID): it goes into finalize's path;
//   - the upload URL is https, or plain http only when the API is plain http
//     on a loopback address too (a local emulator);
//   - its host is not localhost nor an IP literal that is loopback, private,
//     link-local, unspecified, multicast or otherwise internal (see
//     internalAddr), unless the API is on this machine (tests, the
//     emulator). A name that resolves to such an address is refused when
//     the upload connects (see publicOnlyKey);
//   - no field sets what the client sets itself (file, content-type,
//     content-encoding), and no field comes twice, in any case: S3 takes
//     field names without regard to case, and which of two values it would
//     use is not the client's to guess.
//
// Its errors name the field or the host, never a field's value: policy and
// signature are secrets.
func (c *Client) checkUpload(step Step, idName, signedID, rawURL string, fields Fields) (*presignedUpload, error) {
	if err := c.checkServerID(step, idName, signedID); err != nil {
		return nil, err
	}
	u, err := ParseBaseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s response refused: unusable codeUploadUrl: %w", step, err)
	}
	if u.Scheme == "http" && c.base.Scheme != "http" {
		return nil, fmt.Errorf("%s response refused: plain http codeUploadUrl (%s) for an https API: refusing to upload there", step, c.text(Printable(u)))
	}
	if !c.localAPI() {
		if kind := internalHost(u.Hostname()); kind != "" {
			return nil, fmt.Errorf("%s response refused: codeUploadUrl %s points at %s; uploads go to public hosts only (to this machine or its network only when the API is on this machine)",
				step, c.text(Printable(u)), kind)
		}
	}
	seen := map[string]bool{}
	for _, f := range fields {
		name := strings.ToLower(f.Name)
		switch {
		case name == "" || strings.ContainsFunc(f.Name, Folds):
			return nil, fmt.Errorf("%s response refused: codeUploadFields has a field name that is empty or holds control characters (%q)", step, c.text(f.Name))
		case name == "file" || name == "content-type" || name == "content-encoding":
			return nil, fmt.Errorf("%s response refused: codeUploadFields sets %q, which the client sets itself", step, c.text(f.Name))
		case seen[name]:
			return nil, fmt.Errorf("%s response refused: codeUploadFields has the field %q more than once (names differ in case at most)", step, c.text(f.Name))
		}
		seen[name] = true
	}
	up, _ := url.Parse(rawURL) // as given: ParseBaseURL trims a trailing slash
	return &presignedUpload{signedID: signedID, url: up, fields: fields}, nil
}

// isSecretField reports whether a presigned POST field holds something that
// grants access: the signed policy, the signature, credentials, a token.
func isSecretField(name string) bool {
	name = strings.ToLower(name)
	for _, s := range []string{"policy", "signature", "credential", "token", "key-id", "accesskey"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// uploadForm builds the whole multipart body in memory, so it can be sent
// again as it is.
func uploadForm(fields Fields, filename string, code []byte, gzipped bool) ([]byte, string, error) {
	var buf bytes.Buffer
	buf.Grow(len(code) + 4096)
	w := multipart.NewWriter(&buf)
	fields = append(slices.Clip(fields), Field{"content-type", "application/javascript"})
	if gzipped {
		fields = append(fields, Field{"content-encoding", "gzip"})
	}
	for _, f := range fields {
		if err := w.WriteField(f.Name, f.Value); err != nil {
			return nil, "", err
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", filename))
	h.Set("Content-Type", "application/javascript")
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(code); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// notStringError is a field of codeUploadFields whose value is not a
// string. It carries the raw name: decodeJSON shows it with the client's
// secrets hidden first.
type notStringError struct{ name string }

func (e *notStringError) Error() string {
	return fmt.Sprintf("codeUploadFields[%q] is not a string", clean(e.name))
}

// Field is one form field of a presigned POST.
type Field struct{ Name, Value string }

// Fields is a JSON object of string values, decoded in document order.
type Fields []Field

// UnmarshalJSON decodes an object of strings, keeping the key order.
func (f *Fields) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("codeUploadFields is not an object")
	}
	*f = (*f)[:0]
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		var value string
		if err := dec.Decode(&value); err != nil {
			return &notStringError{name: key.(string)}
		}
		*f = append(*f, Field{Name: key.(string), Value: value})
	}
	_, err := dec.Token()
	return err
}
