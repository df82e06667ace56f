package deploy_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sbdeploy/deploy"
)

// TestMintToken checks the token by hand, with no JWT library: the header,
// the claims, and the HS256 signature over the secret's bytes.
func TestMintToken(t *testing.T) {
	t.Parallel()
	key := deploy.Key{ID: "sbk_abc123", Secret: "sbsec_s3cr3t-value_0123456789"}
	now := time.Unix(1_800_000_000, 0)
	tok, err := deploy.MintToken(key, map[string]any{"sub": "octo/repo"}, 5*time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	mac := hmac.New(sha256.New, []byte(key.Secret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); parts[2] != want {
		t.Errorf("signature %s, want %s", parts[2], want)
	}
	var header map[string]any
	decodePart(t, parts[0], &header)
	if diff := cmp.Diff(map[string]any{"alg": "HS256", "kid": "sbk_abc123", "typ": "JWT"}, header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	var claims map[string]any
	decodePart(t, parts[1], &claims)
	want := map[string]any{
		"aud": "https://api.statebacked.dev/",
		"iss": "https://sbk_abc123.client.statebacked.dev/",
		"iat": float64(1_800_000_000),
		"exp": float64(1_800_000_300),
		"act": map[string]any{"sub": "octo/repo"},
	}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

func decodePart(t *testing.T, part string, v any) {
	t.Helper()
	data, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func TestMintTokenRefuses(t *testing.T) {
	t.Parallel()
	good := deploy.Key{ID: "sbk_a", Secret: "sbsec_b"}
	tests := []struct {
		name     string
		key      deploy.Key
		lifetime time.Duration
	}{
		{"key ID without sbk_", deploy.Key{ID: "abc", Secret: good.Secret}, time.Minute},
		{"secret without sbsec_", deploy.Key{ID: good.ID, Secret: "hunter2"}, time.Minute},
		{"lifetime over an hour", good, time.Hour + time.Second},
		{"zero lifetime", good, 0},
	}
	for _, tt := range tests {
		_, err := deploy.MintToken(tt.key, nil, tt.lifetime, time.Now())
		if err == nil {
			t.Errorf("%s: minted a token", tt.name)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error shows the secret: %v", tt.name, err)
		}
	}
}
