//go:build s3

// The upload against a real S3 implementation, versitygw, which checks a
// presigned POST's policy and signature as S3 does. Start it, then run:
//
//	bash .ci/s3-setup.sh
//	. "${TMPDIR:-/tmp}/sbdeploy-s3/env"
//	go test -tags s3 -run TestS3 -count=1 -v ./deploy
//	bash .ci/s3-setup.sh stop

package deploy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
	"sbdeploy/internal/testkit/s3post"
)

// s3Client returns a client of the gateway that .ci/s3-setup.sh started, as
// its env file describes it. With the s3 tag the gateway is required, so a
// missing variable fails the test rather than skipping it.
func s3Client(t *testing.T) *minio.Client {
	t.Helper()
	env := map[string]string{}
	for _, k := range []string{"SBDEPLOY_S3_ENDPOINT", "SBDEPLOY_S3_ACCESS_KEY", "SBDEPLOY_S3_SECRET_KEY"} {
		if env[k] = os.Getenv(k); env[k] == "" {
			t.Fatalf("%s is not set: run `bash .ci/s3-setup.sh` and source the env file it writes", k)
		}
	}
	// Nothing in these tests may reach another host.
	u, err := url.Parse(env["SBDEPLOY_S3_ENDPOINT"])
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("SBDEPLOY_S3_ENDPOINT = %q, want http://127.0.0.1:PORT", env["SBDEPLOY_S3_ENDPOINT"])
	}
	c, err := s3post.NewClient(env["SBDEPLOY_S3_ENDPOINT"], env["SBDEPLOY_S3_ACCESS_KEY"], env["SBDEPLOY_S3_SECRET_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newBucket creates a bucket for one test, removed with its objects after it.
func newBucket(t *testing.T, c *minio.Client) string {
	t.Helper()
	name := "sbdeploy-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	name = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			return r
		}
		return '-'
	}, name)
	name = strings.TrimRight(name[:min(len(name), 45)], "-") + fmt.Sprintf("-%d", time.Now().UnixNano()%1e9)
	if err := c.MakeBucket(t.Context(), name, minio.MakeBucketOptions{Region: s3post.Region}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for obj := range c.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err == nil {
				_ = c.RemoveObject(ctx, name, obj.Key, minio.RemoveObjectOptions{})
			}
		}
		if err := c.RemoveBucket(ctx, name); err != nil {
			t.Errorf("remove bucket %s: %v", name, err)
		}
	})
	return name
}

// stored is an object as the gateway keeps it.
type stored struct {
	Key             string
	Data            []byte
	ContentType     string
	ContentEncoding string
}

// objects reads every object in bucket back from the gateway.
func objects(t *testing.T, c *minio.Client, bucket string) []stored {
	t.Helper()
	var out []stored
	for info := range c.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if info.Err != nil {
			t.Fatalf("list bucket %s: %v", bucket, info.Err)
		}
		obj, err := c.GetObject(t.Context(), bucket, info.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			t.Fatalf("get %s: %v", info.Key, err)
		}
		st, err := c.StatObject(t.Context(), bucket, info.Key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("stat %s: %v", info.Key, err)
		}
		out = append(out, stored{Key: info.Key, Data: data, ContentType: st.ContentType, ContentEncoding: st.Metadata.Get("Content-Encoding")})
	}
	return out
}

// s3Code is a bundle of a few hundred KiB, with CRLFs and boundary-like
// dashes that a multipart parser must keep as they are.
func s3Code() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 300<<10; i++ {
		fmt.Fprintf(&b, "export const v%d = %q;\r\n// --%d--\r\n", i, strings.Repeat("x", i%97), i)
	}
	return b.Bytes()
}

// s3Migration returns the migration to deploy, gzipped or not.
func s3Migration(t *testing.T, gzipped bool) Migration {
	t.Helper()
	m := Migration{Machine: "toggle", From: "ver_1", To: "ver_2", Code: s3Code()}
	if gzipped {
		m.Code, m.Gzipped = testkit.Gzip(t, m.Code), true
	}
	return m
}

// requestSteps counts the emulator's requests by step.
func requestSteps(em *testkit.Emu) map[emulator.Step]int {
	n := map[emulator.Step]int{}
	for _, r := range em.Requests() {
		n[r.Step]++
	}
	return n
}

func TestS3Upload(t *testing.T) {
	t.Parallel()
	s3 := s3Client(t)
	for _, gzipped := range []bool{false, true} {
		t.Run(map[bool]string{true: "gzipped", false: "plain"}[gzipped], func(t *testing.T) {
			t.Parallel()
			bucket := newBucket(t, s3)
			em, api := testkit.Emulator(t, emulator.Config{Uploads: s3post.New(s3, bucket)})
			m := s3Migration(t, gzipped)

			var steps []Step
			id, err := newClient(t, api).Deploy(t.Context(), m, func(s StepDone) { steps = append(steps, s.Step) })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]Step{StepProvision, StepUpload, StepFinalize}, steps); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			// The upload went to the gateway, not to the emulator.
			if diff := cmp.Diff(map[emulator.Step]int{emulator.StepProvision: 1, emulator.StepFinalize: 1}, requestSteps(em)); diff != "" {
				t.Errorf("emulator requests by step (-want +got):\n%s", diff)
			}

			encoding := map[bool]string{true: "gzip", false: ""}[gzipped]
			want := []stored{{Key: "migrations/toggle/" + id + ".js", Data: m.Code, ContentType: "application/javascript", ContentEncoding: encoding}}
			if diff := cmp.Diff(want, objects(t, s3, bucket)); diff != "" {
				t.Errorf("objects in the gateway (-want +got):\n%s", diff)
			}
			// Finalize read the object back from the gateway.
			if migs := em.Migrations(); len(migs) != 1 || migs[0].ID != id || !migs[0].Finalized || !bytes.Equal(migs[0].Code, m.Code) {
				t.Errorf("emulator migrations = %d, want one finalized as %s with the code sent", len(migs), id)
			}
		})
	}
}

// TestS3UploadFinalizeFirst: finalize learns of the upload only from the
// gateway, so before it there is nothing to finalize.
func TestS3UploadFinalizeFirst(t *testing.T) {
	t.Parallel()
	s3 := s3Client(t)
	em, api := testkit.Emulator(t, emulator.Config{Uploads: s3post.New(s3, newBucket(t, s3))})
	c := newClient(t, api)
	m := s3Migration(t, false)

	up, err := c.provision(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.finalize(t.Context(), m, up)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Step != StepFinalize ||
		apiErr.Status != http.StatusBadRequest || apiErr.Code != "invalid-parameter" {
		t.Fatalf("finalize before upload = %v, want a 400 invalid-parameter *APIError", err)
	}
	if err := c.upload(t.Context(), m, up); err != nil {
		t.Fatal(err)
	}
	if _, err := c.finalize(t.Context(), m, up); err != nil {
		t.Fatalf("finalize after upload: %v", err)
	}
	if migs := em.Migrations(); len(migs) != 1 || !migs[0].Finalized || !bytes.Equal(migs[0].Code, m.Code) {
		t.Errorf("emulator has %d migrations, want one finalized with the code sent", len(migs))
	}
}

// tampered is an UploadTarget that presigns a policy other than the
// emulator asks for, or changes the fields after signing: uploads the
// gateway must refuse.
type tampered struct {
	emulator.UploadTarget
	policy func(*emulator.UploadPolicy)
	fields func(map[string]string)
}

func (w tampered) Presign(ctx context.Context, p emulator.UploadPolicy) (string, map[string]string, error) {
	if w.policy != nil {
		w.policy(&p)
	}
	u, fields, err := w.UploadTarget.Presign(ctx, p)
	if err == nil && w.fields != nil {
		w.fields(fields)
	}
	return u, fields, err
}

// sizeRange matches the content-length-range condition of a minio-go policy.
var sizeRange = regexp.MustCompile(`\["content-length-range", *1, *[0-9]+\]`)

func TestS3UploadPolicyEnforced(t *testing.T) {
	t.Parallel()
	s3 := s3Client(t)
	codeLen := int64(len(s3Code()))
	tests := []struct {
		name    string
		gzipped bool
		tamper  tampered
		// what the gateway answers; 0 for success
		status  int
		code    string
		message string
	}{
		{
			name:   "content-type differs from the policy's",
			tamper: tampered{policy: func(p *emulator.UploadPolicy) { p.ContentType = "text/plain" }},
			status: 403, code: "AccessDenied", message: `Policy Condition failed: ["eq","$Content-Type","text/plain"]`,
		},
		{
			name:   "file one byte over content-length-range",
			tamper: tampered{policy: func(p *emulator.UploadPolicy) { p.MaxBytes = codeLen - 1 }},
			status: 400, code: "EntityTooLarge",
		},
		{
			name:   "file exactly at content-length-range's maximum",
			tamper: tampered{policy: func(p *emulator.UploadPolicy) { p.MaxBytes = codeLen }},
		},
		{
			name: "content-encoding differs from the policy's", gzipped: true,
			tamper: tampered{policy: func(p *emulator.UploadPolicy) { p.ContentEncoding = "br" }},
			status: 403, code: "AccessDenied", message: `Policy Condition failed: ["eq","$Content-Encoding","br"]`,
		},
		{
			name: "content-encoding sent, policy has none", gzipped: true,
			tamper: tampered{policy: func(p *emulator.UploadPolicy) { p.ContentEncoding = "" }},
			status: 403, code: "AccessDenied", message: "Extra input fields: content-encoding",
		},
		{
			name:   "content-encoding required, none sent",
			tamper: tampered{policy: func(p *emulator.UploadPolicy) { p.ContentEncoding = "gzip" }},
			status: 403, code: "AccessDenied", message: `Policy Condition failed: ["eq","$Content-Encoding","gzip"]`,
		},
		{
			name:   "key field changed",
			tamper: tampered{fields: func(f map[string]string) { f["key"] = "migrations/elsewhere.js" }},
			status: 403, code: "AccessDenied", message: `Policy Condition failed: ["eq","$key",`,
		},
		{
			name:   "extra field",
			tamper: tampered{fields: func(f map[string]string) { f["x-amz-meta-extra"] = "1" }},
			status: 403, code: "AccessDenied", message: "Extra input fields: x-amz-meta-extra",
		},
		{
			// Unchanged, the policy would refuse the file as too large (400).
			name: "size limit raised in the policy after signing",
			tamper: tampered{
				policy: func(p *emulator.UploadPolicy) { p.MaxBytes = codeLen - 1 },
				fields: func(f map[string]string) {
					p, _ := base64.StdEncoding.DecodeString(f["policy"])
					p = sizeRange.ReplaceAll(p, []byte(`["content-length-range", 1, 99999999]`))
					f["policy"] = base64.StdEncoding.EncodeToString(p)
				},
			},
			status: 403, code: "SignatureDoesNotMatch",
		},
		{
			name:   "signature changed",
			tamper: tampered{fields: func(f map[string]string) { f["x-amz-signature"] = strings.Repeat("0", 64) }},
			status: 403, code: "SignatureDoesNotMatch",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bucket := newBucket(t, s3)
			target := tc.tamper
			target.UploadTarget = s3post.New(s3, bucket)
			em, api := testkit.Emulator(t, emulator.Config{Uploads: target})
			m := s3Migration(t, tc.gzipped)

			_, err := newClient(t, api).Deploy(t.Context(), m, nil)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("deploy: %v, want success", err)
				}
				if got := objects(t, s3, bucket); len(got) != 1 || !bytes.Equal(got[0].Data, m.Code) {
					t.Errorf("the gateway has %d objects, want the one sent", len(got))
				}
				return
			}

			t.Logf("deploy: %v", err)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("deploy error = %v, want a *APIError", err)
			}
			got := APIError{Step: apiErr.Step, Status: apiErr.Status, Code: apiErr.Code}
			if want := (APIError{Step: StepUpload, Status: tc.status, Code: tc.code}); got != want || !strings.Contains(apiErr.Message, tc.message) {
				t.Errorf("deploy error = %+v %q,\nwant %+v with a message containing %q", got, apiErr.Message, want, tc.message)
			}
			// A 403 may be an expired POST, so the client provisions once more.
			provisions := map[bool]int{true: 2, false: 1}[tc.status == http.StatusForbidden]
			if diff := cmp.Diff(map[emulator.Step]int{emulator.StepProvision: provisions}, requestSteps(em)); diff != "" {
				t.Errorf("emulator requests by step (-want +got):\n%s", diff)
			}
			if got := objects(t, s3, bucket); len(got) != 0 {
				t.Errorf("the gateway stored %d objects from refused uploads: %v", len(got), got[0].Key)
			}
		})
	}
}
