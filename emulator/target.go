package emulator

import (
	"context"
	"fmt"
	"net/http"
)

// UploadTarget is a real S3-compatible store that receives uploads in place
// of the emulator's own S3 stand-in (see Config.Uploads). Package
// sbdeploy/internal/testkit/s3post has one built on minio-go, for tests
// only: this package must not import an S3 client, since the shipped binary
// imports it for its demo.
type UploadTarget interface {
	// Presign returns the URL and the form fields of an S3 presigned POST
	// whose signed policy allows exactly the upload p describes. The fields
	// must not include content-type or content-encoding: the client adds
	// those itself (docs/api.md, "Deploying code").
	Presign(ctx context.Context, p UploadPolicy) (url string, fields map[string]string, err error)
	// Fetch returns the stored object at key, or an error wrapping
	// fs.ErrNotExist if nothing was uploaded there.
	Fetch(ctx context.Context, key string) ([]byte, error)
}

// UploadPolicy is what the policy of a presigned POST must require.
type UploadPolicy struct {
	Key         string // the object key; the key field must equal it
	MaxBytes    int64  // the file is 1 to MaxBytes bytes (content-length-range)
	ContentType string // the content-type field must equal it
	// ContentEncoding, if not "", is what the content-encoding field must
	// equal; if "", the policy allows no content-encoding field.
	ContentEncoding string
}

// targetError is the 502 the API answers when its upload target fails.
func targetError(what string, err error) *apiError {
	return &apiError{status: http.StatusBadGateway, Code: "upload-target-failed",
		Message: fmt.Sprintf("cannot %s: the upload target failed: %v", what, err)}
}
