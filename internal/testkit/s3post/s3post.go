//go:build s3

// Package s3post is an emulator.UploadTarget backed by a real S3-compatible
// store through minio-go: the emulator then answers provision with a
// presigned POST that the store itself checks, policy and signature.
//
// It is for tests only, and builds only with the s3 build tag: the shipped
// binary, built without it, cannot link it or minio-go, whatever imports
// it.
package s3post

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"sbdeploy/emulator"
)

// Region is the region the client signs for; versitygw's default.
const Region = "us-east-1"

// ttl is how long a presigned POST stays valid.
const ttl = 15 * time.Minute

// maxObject bounds what Fetch reads: any upload the emulator presigns is
// smaller.
const maxObject = 16 << 20

// NewClient returns a minio client for the S3 endpoint at rawURL (such as
// http://127.0.0.1:7070), signing with the access key and secret, in path
// style: the bucket is the first path segment, as an IP address requires.
func NewClient(rawURL, accessKey, secret string) (*minio.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("S3 endpoint %q is not an http(s)://host:port URL", rawURL)
	}
	return minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(accessKey, secret, ""),
		Secure:       u.Scheme == "https",
		Region:       Region, // spares a GetBucketLocation request per presign
		BucketLookup: minio.BucketLookupPath,
	})
}

// Target presigns uploads to one bucket, and reads them back.
type Target struct {
	client *minio.Client
	bucket string
}

// New returns a target for bucket, which must exist, reached through client.
func New(client *minio.Client, bucket string) *Target {
	return &Target{client: client, bucket: bucket}
}

var _ emulator.UploadTarget = (*Target)(nil)

// Presign returns a presigned POST to the bucket whose policy requires the
// key, the content-type, the content-encoding (or none, when
// p.ContentEncoding is ""), and a file of 1 to p.MaxBytes bytes. minio-go puts
// the content fields among the form fields; they are taken out, since the
// client sends them itself after the presigned ones.
func (t *Target) Presign(ctx context.Context, p emulator.UploadPolicy) (string, map[string]string, error) {
	policy := minio.NewPostPolicy()
	errs := []error{
		policy.SetBucket(t.bucket),
		policy.SetKey(p.Key),
		policy.SetExpires(time.Now().UTC().Add(ttl)),
		policy.SetContentType(p.ContentType),
		policy.SetContentLengthRange(1, p.MaxBytes),
	}
	if p.ContentEncoding != "" {
		errs = append(errs, policy.SetContentEncoding(p.ContentEncoding))
	}
	if err := errors.Join(errs...); err != nil {
		return "", nil, fmt.Errorf("post policy for %s: %w", p.Key, err)
	}
	u, fields, err := t.client.PresignedPostPolicy(ctx, policy)
	if err != nil {
		return "", nil, fmt.Errorf("presign POST to bucket %s: %w", t.bucket, err)
	}
	delete(fields, "Content-Type")
	delete(fields, "Content-Encoding")
	return u.String(), fields, nil
}

// Fetch returns the object at key, or an error wrapping fs.ErrNotExist if
// there is none.
func (t *Target) Fetch(ctx context.Context, key string) ([]byte, error) {
	obj, err := t.client.GetObject(ctx, t.bucket, key, minio.GetObjectOptions{})
	if err == nil {
		defer obj.Close()
		var b []byte
		if b, err = io.ReadAll(io.LimitReader(obj, maxObject+1)); err == nil {
			if len(b) > maxObject {
				return nil, fmt.Errorf("object %s is larger than %d bytes", key, maxObject)
			}
			return b, nil
		}
	}
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil, fmt.Errorf("object %s in bucket %s: %w", key, t.bucket, fs.ErrNotExist)
	}
	return nil, fmt.Errorf("get object %s from bucket %s: %w", key, t.bucket, err)
}
