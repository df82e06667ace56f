package emulator

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

// bucket is the one bucket the upload stand-in serves.
const bucket = "statebacked-emulator-code"

// Size limits from the API facts: gzipped code, and code before or without gzip.
const (
	maxGzipped = 1_000_000
	maxPlain   = 10_000_000
)

// presign returns the fields of an S3 presigned POST for key: the fields a
// client must send back verbatim, with a Policy signed by postKey.
func (e *Emulator) presign(key string, maxSize int, gz bool) map[string]string {
	now := time.Now().UTC()
	fields := map[string]string{
		"bucket":           bucket,
		"key":              key,
		"X-Amz-Algorithm":  "AWS4-HMAC-SHA256",
		"X-Amz-Credential": "EMULATORACCESSKEY/" + now.Format("20060102") + "/us-east-1/s3/aws4_request",
		"X-Amz-Date":       now.Format("20060102T150405Z"),
	}
	var conditions []any
	for _, k := range sortedKeys(fields) {
		conditions = append(conditions, map[string]string{k: fields[k]})
	}
	conditions = append(conditions,
		[]any{"content-length-range", 1, maxSize},
		[]any{"eq", "$Content-Type", "application/javascript"})
	if gz {
		conditions = append(conditions, []any{"eq", "$Content-Encoding", "gzip"})
	}
	policy, _ := json.Marshal(map[string]any{
		"expiration": now.Add(time.Hour).Format(time.RFC3339),
		"conditions": conditions,
	})
	fields["Policy"] = base64.StdEncoding.EncodeToString(policy)
	fields["X-Amz-Signature"] = sign(e.postKey, fields["Policy"])
	return fields
}

// s3Error is an S3 XML error body and the status it is sent with.
type s3Error struct {
	XMLName xml.Name `xml:"Error"`
	status  int
	Code    string
	Message string
}

func s3err(status int, code, format string, args ...any) *s3Error {
	return &s3Error{status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func writeS3(w http.ResponseWriter, e *s3Error) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	out, _ := xml.Marshal(e)
	_, _ = io.WriteString(w, xml.Header+string(out))
}

// form is a parsed multipart upload.
type form struct {
	fields   map[string]string // by lower-case name: S3 field names are case-insensitive
	hasFile  bool
	file     []byte
	fileName string
	fileType string
}

// upload answers a presigned POST to /upload/{bucket}: 204, or S3's XML error.
func (e *Emulator) upload(w http.ResponseWriter, r *http.Request, body []byte) {
	if p := e.receive(r, r.PathValue("bucket"), body); p != nil {
		writeS3(w, p)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// receive checks an upload to bucketName as S3 would check a presigned POST,
// and stricter where S3 would silently accept a client bug; if it passes, it
// stores the file as the migration's code.
func (e *Emulator) receive(r *http.Request, bucketName string, body []byte) *s3Error {
	if r.Header.Get("Authorization") != "" {
		return s3err(http.StatusBadRequest, "InvalidRequest",
			"an Authorization header was sent with a presigned POST: the signature is in the fields, and no token may reach the upload host")
	}
	if bucketName != bucket {
		return s3err(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	}
	if len(body) > maxRecorded {
		return s3err(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
	}
	f, p := parseForm(r, body)
	if p != nil {
		return p
	}
	m, p := e.authorize(f.fields)
	if p != nil {
		return p
	}
	if p := checkFile(f, m.Gzip, e.cfg.Limits); p != nil {
		return p
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m.Code = f.file
	return nil
}

// parseForm reads the multipart parts in order, which is why it does not use
// ParseMultipartForm: S3 ignores fields after the file, so one there is a bug.
func parseForm(r *http.Request, body []byte) (*form, *s3Error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, s3err(http.StatusPreconditionFailed, "PreconditionFailed",
			"Bucket POST must be of the enclosure-type multipart/form-data")
	}
	malformed := s3err(http.StatusBadRequest, "MalformedPOSTRequest",
		"The body of your POST request is not well-formed multipart/form-data.")
	f := &form{fields: map[string]string{}}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, malformed
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, malformed
		}
		name := part.FormName()
		switch _, dup := f.fields[strings.ToLower(name)]; {
		case f.hasFile:
			return nil, s3err(http.StatusBadRequest, "InvalidArgument",
				"part %q comes after the file part: S3 ignores fields after the file, so the file must be last", name)
		case name == "file":
			f.hasFile, f.file, f.fileName, f.fileType = true, data, part.FileName(), part.Header.Get("Content-Type")
		case dup:
			return nil, s3err(http.StatusBadRequest, "InvalidArgument", "field %q appears more than once", name)
		default:
			f.fields[strings.ToLower(name)] = string(data)
		}
	}
	if !f.hasFile {
		return nil, s3err(http.StatusBadRequest, "InvalidArgument", "POST requires exactly one file upload per request.")
	}
	return f, nil
}

// authorize verifies the signed policy and returns the migration it was
// issued for, after checking that every issued field came back unchanged
// and that no field outside the policy was added.
func (e *Emulator) authorize(fields map[string]string) (*migration, *s3Error) {
	policy, sig := fields["policy"], fields["x-amz-signature"]
	if policy == "" || sig == "" {
		return nil, s3err(http.StatusForbidden, "AccessDenied", "Policy and X-Amz-Signature fields are required")
	}
	if !verify(e.postKey, policy, sig) {
		return nil, s3err(http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided.")
	}
	e.mu.Lock()
	m := e.find(func(m *migration) bool { return m.fields["Policy"] == policy })
	e.mu.Unlock()
	if m == nil { // unreachable while only policies this emulator issued verify
		return nil, s3err(http.StatusForbidden, "AccessDenied", "the policy was not issued here")
	}
	allowed := map[string]bool{"content-type": true, "content-encoding": true}
	for _, k := range sortedKeys(m.fields) {
		allowed[strings.ToLower(k)] = true
		if fields[strings.ToLower(k)] != m.fields[k] {
			return nil, s3err(http.StatusForbidden, "AccessDenied",
				"Invalid according to Policy: Policy Condition failed: [\"eq\", \"$%s\", %q]", k, m.fields[k])
		}
	}
	for _, k := range sortedKeys(fields) {
		if !allowed[k] {
			return nil, s3err(http.StatusForbidden, "AccessDenied", "Invalid according to Policy: Extra input fields: %s", k)
		}
	}
	return m, nil
}

// checkFile checks the content fields and the file part against the limits
// and the gzip flag the migration was provisioned with.
func checkFile(f *form, gz bool, limits Limits) *s3Error {
	invalid := func(format string, args ...any) *s3Error {
		return s3err(http.StatusBadRequest, "InvalidArgument", format, args...)
	}
	if ct := f.fields["content-type"]; ct != "application/javascript" {
		return invalid("field content-type must be application/javascript, not %q", ct)
	}
	switch ce, ok := f.fields["content-encoding"]; {
	case gz && ce != "gzip":
		return invalid("field content-encoding must be gzip: the migration was provisioned with gzip")
	case !gz && ok:
		return invalid("field content-encoding %q was sent, but the migration was provisioned without gzip", ce)
	}
	if f.fileName == "" {
		return invalid("the file part has no filename")
	}
	if mt, _, _ := mime.ParseMediaType(f.fileType); mt != "application/javascript" {
		return invalid("the file part's content type must be application/javascript, not %q", f.fileType)
	}
	limit := limits.Plain
	if gz {
		limit = limits.Gzipped
	}
	switch {
	case len(f.file) > limit:
		return s3err(http.StatusBadRequest, "EntityTooLarge",
			"Your proposed upload exceeds the maximum allowed size: %d bytes, limit %d", len(f.file), limit)
	case len(f.file) == 0:
		return s3err(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
	case !gz && bytes.HasPrefix(f.file, []byte{0x1f, 0x8b}):
		return invalid("the file is gzipped, but the migration was provisioned without gzip")
	case !gz:
		return nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(f.file))
	if err != nil {
		return invalid("the file is not valid gzip: %v", err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, int64(limits.Plain)+1))
	if err != nil {
		return invalid("the file is not valid gzip: %v", err)
	}
	if n > int64(limits.Plain) {
		return invalid("the file decompresses to more than %d bytes", limits.Plain)
	}
	return nil
}
