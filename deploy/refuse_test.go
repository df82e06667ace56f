package deploy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"sbdeploy/emulator"
	"sbdeploy/internal/testkit"
)

// The tests here check, from inside the package, the upload URLs and hosts
// that a provision answer may name: for an API that is not on this machine
// (the emulator is on 127.0.0.1, where uploads to this machine are
// allowed), and for an API over TLS.

func TestValidID(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"ver_1", "mvm_0123456789abcdef", "mvm_0123456789abcdef.89abcdef01234567", "a:b+c=d~e-f", "...", "a..b", strings.Repeat("a", 512)} {
		if !validID(id) {
			t.Errorf("validID(%q) = false, want true", id)
		}
	}
	for _, id := range []string{"", ".", "..", "mvm_x/../../y", "a/b", "/", "a%2fb", "%2e%2e", "a b", "a\nb", "a\tb", "a\x00b", "é", strings.Repeat("a", 513)} {
		if validID(id) {
			t.Errorf("validID(%q) = true, want false", id)
		}
	}
}

// TestUploadHostRefused checks the upload URLs a provision answer may name
// when the API is not on this machine, and that an API on this machine may
// name this machine.
func TestUploadHostRefused(t *testing.T) {
	t.Parallel()
	remote, err := New("https://api.statebacked.dev", "sbtest_token")
	if err != nil {
		t.Fatal(err)
	}
	local, err := New("http://127.0.0.1:1", "sbtest_token")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		upload string
		c      *Client
		want   string // "" for accepted
	}{
		{"https://bucket.s3.amazonaws.com/", remote, ""},
		{"https://93.184.216.34/upload", remote, ""},
		{"https://[2606:2800:220:1:248:1893:25c8:1946]/", remote, ""},
		{"https://169.254.169.254/latest/meta-data", remote, "a link-local address"},
		{"https://[::ffff:169.254.169.254]/", remote, "a link-local address"},
		{"https://[fe80::1%25eth0]/", remote, "a link-local address"},
		{"https://10.0.0.1/", remote, "a private address"},
		{"https://172.16.5.4/", remote, "a private address"},
		{"https://192.168.1.1/", remote, "a private address"},
		{"https://[fd00:ec2::254]/", remote, "a private address"},
		{"https://127.0.0.1:6379/", remote, "a loopback address"},
		{"https://[::1]/", remote, "a loopback address"},
		{"https://localhost:8080/", remote, "localhost"},
		{"https://LocalHost./", remote, "localhost"},
		{"https://db.localhost/", remote, "localhost"},
		{"https://0.0.0.0/", remote, "an unspecified address"},
		{"https://[::]/", remote, "an unspecified address"},
		{"https://224.0.0.1/", remote, "a link-local address"},
		{"https://239.1.2.3/", remote, "a multicast or broadcast address"},
		{"https://255.255.255.255/", remote, "a multicast or broadcast address"},
		{"https://100.100.100.200/", remote, "a shared (carrier-grade NAT) address"},
		{"http://bucket.s3.amazonaws.com/", remote, "plain http"},
		{"http://127.0.0.1:9000/upload", local, ""},
		{"https://10.0.0.1/", local, ""},
	}
	for _, tt := range tests {
		p, err := tt.c.checkUpload(StepProvision, "machineVersionMigrationId", "mvm_1", tt.upload, nil)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("API %s, upload %s: %v, want it accepted", tt.c.base, tt.upload, err)
		case tt.want == "" && p.url.String() != tt.upload:
			t.Errorf("upload URL %s became %s", tt.upload, p.url)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "response refused")):
			t.Errorf("API %s, upload %s: err = %v, want it refused as %q", tt.c.base, tt.upload, err, tt.want)
		}
	}
}

// TestUploadConnectsToPublicAddressesOnly checks the check at connect time:
// with an API that is not on this machine, an upload is not sent to an
// address on it, also when a name resolves there, and the refusal is not
// retried. The URLs here skip the provision answer's checks, which refuse
// them before any connection.
func TestUploadConnectsToPublicAddressesOnly(t *testing.T) {
	t.Parallel()
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	port := addr[strings.LastIndex(addr, ":"):]
	upload := func(t *testing.T, api, target string) error {
		t.Helper()
		var retries int
		c, err := New(api, "sbtest_token", WithRetryNotify(func(RetryEvent) { retries++ }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.CloseIdleConnections)
		u, _ := url.Parse(target)
		err = c.upload(context.Background(), preMigration, &presignedUpload{signedID: "mvm_1", url: u})
		if retries != 0 {
			t.Errorf("%d retries, want none", retries)
		}
		return err
	}
	for _, target := range []string{"http://127.0.0.1" + port + "/upload", "http://localhost" + port + "/upload"} {
		err := upload(t, "https://api.statebacked.dev", target)
		var internal *internalAddressError
		if !errors.As(err, &internal) || !strings.Contains(err.Error(), "refused to connect to") || !strings.Contains(err.Error(), "a loopback address") {
			t.Errorf("upload to %s for a remote API: err = %v, want the connection refused", target, err)
		}
	}
	if n := got.Load(); n != 0 {
		t.Fatalf("the host on this machine got %d uploads, want none", n)
	}
	if err := upload(t, "http://127.0.0.1:1", "http://localhost"+port+"/upload"); err != nil {
		t.Fatalf("upload for an API on this machine: %v", err)
	}
	if n := got.Load(); n != 1 {
		t.Errorf("the host got %d uploads for an API on this machine, want 1", n)
	}
}

// TestUploadFieldsRefused checks that a provision answer may not set the
// fields the client sets, nor one field twice, and that the error names the
// field but not its value, which may be a secret.
func TestUploadFieldsRefused(t *testing.T) {
	t.Parallel()
	c, err := New("https://api.statebacked.dev", "sbtest_token")
	if err != nil {
		t.Fatal(err)
	}
	const value = "s3cret-p0licy-value"
	tests := []struct {
		name   string
		fields string
		want   string
	}{
		{"file", `{"key":"k","file":"` + value + `"}`, `sets "file", which the client sets itself`},
		{"content-type in another case", `{"Content-Type":"` + value + `"}`, `sets "Content-Type", which the client sets itself`},
		{"content-encoding", `{"CONTENT-ENCODING":"` + value + `"}`, `sets "CONTENT-ENCODING"`},
		{"a field twice", `{"key":"a","Policy":"` + value + `","key":"` + value + `"}`, `has the field "key" more than once`},
		{"a field twice, in another case", `{"policy":"` + value + `","Policy":"` + value + `"}`, `has the field "Policy" more than once`},
		{"an empty name", `{"":"` + value + `"}`, `field name that is empty`},
		{"a name with a line break", `{"x\r\nContent-Type: text/html":"` + value + `"}`, `holds control characters`},
	}
	for _, tt := range tests {
		var f Fields
		if err := f.UnmarshalJSON([]byte(tt.fields)); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		_, err := c.checkUpload(StepProvision, "machineVersionMigrationId", "mvm_1", "https://bucket.s3.amazonaws.com/", f)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "provision response refused") {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), value) {
			t.Errorf("%s: the error shows a field's value: %v", tt.name, err)
		}
	}
}

// TestUploadURLMustBeHTTPS checks that an https API cannot send the upload
// to a plain http address, such as a service on the runner's own machine.
func TestUploadURLMustBeHTTPS(t *testing.T) {
	t.Parallel()
	em := testkit.New(emulator.Config{Token: testToken, Machines: map[string][]string{"toggle": {"ver_1", "ver_2"}}})
	srv := httptest.NewTLSServer(em)
	t.Cleanup(srv.Close)
	em.FailNext(emulator.StepProvision, 1, 200, `{"machineVersionMigrationId":"mvm_1","codeUploadUrl":"http://127.0.0.1:6379/","codeUploadFields":{}}`)
	c := newClient(t, srv.URL)
	c.http = srv.Client() // which trusts the server's certificate
	_, err := c.Deploy(context.Background(), preMigration, nil)
	if err == nil || !strings.Contains(err.Error(), "plain http codeUploadUrl") {
		t.Fatalf("err = %v, want the plain http upload URL refused", err)
	}
	if n := len(em.Requests()); n != 1 {
		t.Errorf("%d requests, want only the provision", n)
	}
}
