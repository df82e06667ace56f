package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"time"
)

// Step names one request of a deploy.
type Step string

// The three steps of a deploy.
const (
	StepProvision Step = "provision"
	StepUpload    Step = "upload"
	StepFinalize  Step = "finalize"
)

// Upload is where and how to upload code, as provision returned it.
type Upload struct {
	// SignedID identifies what was provisioned; finalize takes it.
	SignedID string
	URL      string
	// Fields are the presigned POST's form fields, in the server's order.
	Fields Fields
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
			return fmt.Errorf("codeUploadFields[%q] is not a string", key)
		}
		*f = append(*f, Field{Name: key.(string), Value: value})
	}
	_, err := dec.Token()
	return err
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
func (m Migration) Filename() string {
	return fmt.Sprintf("%s_%s_to_%s.js", m.Machine, m.From, m.To)
}

// StepDone reports one finished step.
type StepDone struct {
	Step     Step
	Duration time.Duration
	Bytes    int // bytes of code sent (upload only)
}

// DeployMigration provisions m, uploads its code and finalizes it, calling
// done (if not nil) after each step. It returns the migration ID that
// finalize confirmed.
func (c *Client) DeployMigration(ctx context.Context, m Migration, done func(StepDone)) (string, error) {
	return c.deployCode(ctx, codeDeploy{
		provisionStep: StepProvision,
		finalizeStep:  StepFinalize,
		provision: func(ctx context.Context) (*Upload, error) {
			return c.ProvisionMigration(ctx, m.Machine, m.From, m.To, m.Gzipped)
		},
		finalize: func(ctx context.Context, signedID string) (string, error) {
			return c.FinalizeMigration(ctx, m.Machine, signedID)
		},
		filename: m.Filename(),
		code:     m.Code,
		gzipped:  m.Gzipped,
	}, done)
}

// codeDeploy is the three-step shape that migrations and machine versions
// share: provision, upload to the presigned POST, finalize.
type codeDeploy struct {
	provisionStep, finalizeStep Step
	provision                   func(context.Context) (*Upload, error)
	finalize                    func(ctx context.Context, signedID string) (string, error)
	filename                    string
	code                        []byte
	gzipped                     bool
}

func (c *Client) deployCode(ctx context.Context, d codeDeploy, done func(StepDone)) (string, error) {
	report := func(step Step, start time.Time, n int) {
		if done != nil {
			done(StepDone{Step: step, Duration: time.Since(start), Bytes: n})
		}
	}
	start := time.Now()
	up, err := d.provision(ctx)
	if err != nil {
		return "", err
	}
	report(d.provisionStep, start, 0)

	start = time.Now()
	err = c.Upload(ctx, up, d.filename, d.code, d.gzipped)
	if isUploadRefused(err) {
		// A presigned POST expires; one that did is refused with 403. A new
		// provision gives a fresh one: try that once.
		if c.onRetry != nil {
			c.onRetry(RetryEvent{Step: StepUpload, Attempt: 1, Attempts: 2, Err: err, Reprovision: true})
		}
		start = time.Now()
		if up, err = d.provision(ctx); err != nil {
			return "", err
		}
		report(d.provisionStep, start, 0)
		start = time.Now()
		err = c.Upload(ctx, up, d.filename, d.code, d.gzipped)
	}
	if err != nil {
		return "", err
	}
	report(StepUpload, start, len(d.code))

	start = time.Now()
	id, err := d.finalize(ctx, up.SignedID)
	if err != nil {
		return "", err
	}
	report(d.finalizeStep, start, 0)
	return id, nil
}

// ProvisionMigration asks for an upload URL for the migration of machine
// from one version to another. The body carries only the two version IDs.
func (c *Client) ProvisionMigration(ctx context.Context, machine, from, to string, gzipped bool) (*Upload, error) {
	if !ValidSlug(machine) {
		return nil, fmt.Errorf("invalid machine name %q", machine)
	}
	in := struct {
		From string `json:"fromMachineVersionId"`
		To   string `json:"toMachineVersionId"`
	}{from, to}
	var out struct {
		ID string `json:"machineVersionMigrationId"`
		provisioned
	}
	if err := c.do(ctx, StepProvision, http.MethodPost, "/machines/"+machine+"/migrations", gzipQuery(gzipped), in, &out); err != nil {
		return nil, err
	}
	return out.upload(StepProvision, "machineVersionMigrationId", out.ID)
}

// provisioned is the upload part of a provision answer.
type provisioned struct {
	URL    string `json:"codeUploadUrl"`
	Fields Fields `json:"codeUploadFields"`
}

// upload checks the answer and the signed ID it came with.
func (p provisioned) upload(step Step, idName, signedID string) (*Upload, error) {
	if err := checkID(step, idName, signedID); err != nil {
		return nil, err
	}
	if _, err := ParseBaseURL(p.URL); err != nil {
		return nil, fmt.Errorf("%s response has an unusable codeUploadUrl: %w", step, err)
	}
	return &Upload{SignedID: signedID, URL: p.URL, Fields: p.Fields}, nil
}

func isUploadRefused(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Step == StepUpload && e.Status == http.StatusForbidden
}

func gzipQuery(gzipped bool) url.Values {
	if !gzipped {
		return nil
	}
	return url.Values{"gzip": {"true"}}
}

// Upload posts code to the presigned URL as multipart/form-data: the
// presigned fields, then content-type, then content-encoding when gzipped,
// then the file part last (S3 ignores fields after the file). It sends no
// Authorization header: the upload host is not the API.
func (c *Client) Upload(ctx context.Context, up *Upload, filename string, code []byte, gzipped bool) error {
	body, contentType, err := uploadForm(up.Fields, filename, code, gzipped)
	if err != nil {
		return err
	}
	_, err = retry(ctx, c, StepUpload, func(ctx context.Context) (struct{}, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, up.URL, bytes.NewReader(body))
		if err != nil {
			return struct{}{}, err
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("User-Agent", c.userAgent)
		resp, err := c.http.Do(req)
		if err != nil {
			return struct{}{}, &transportError{fmt.Errorf("upload failed: POST %s: %w", redactedHost(up.URL), unwrapURLError(err))}
		}
		defer drain(resp.Body)
		return struct{}{}, checkResponse(StepUpload, resp)
	})
	return err
}

// redactedHost names the upload host without the path and query, which may
// carry signatures.
func redactedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the upload URL"
	}
	return u.Scheme + "://" + u.Host
}

// uploadForm builds the whole multipart body in memory, so it can be sent
// again as it is.
func uploadForm(fields Fields, filename string, code []byte, gzipped bool) ([]byte, string, error) {
	var buf bytes.Buffer
	buf.Grow(len(code) + 4096)
	w := multipart.NewWriter(&buf)
	write := func(name, value string) error { return w.WriteField(name, value) }
	for _, f := range fields {
		if err := write(f.Name, f.Value); err != nil {
			return nil, "", err
		}
	}
	if err := write("content-type", "application/javascript"); err != nil {
		return nil, "", err
	}
	if gzipped {
		if err := write("content-encoding", "gzip"); err != nil {
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

// FinalizeMigration confirms the upload and returns the migration's ID.
func (c *Client) FinalizeMigration(ctx context.Context, machine, signedID string) (string, error) {
	var out struct {
		MigrationID string `json:"machineVersionMigrationId"`
		// One place in the API's spec names the property machineVersionId.
		VersionID string `json:"machineVersionId"`
	}
	path := "/machines/" + machine + "/migrations/" + url.PathEscape(signedID)
	if err := c.do(ctx, StepFinalize, http.MethodPut, path, nil, struct{}{}, &out); err != nil {
		return "", err
	}
	id := out.MigrationID
	if id == "" {
		id = out.VersionID
	}
	if err := checkID(StepFinalize, "machineVersionMigrationId", id); err != nil {
		return "", err
	}
	return id, nil
}
