package emulator

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// checkKeyToken accepts a token minted from one of Config.Keys or
// Config.CIKeys, checked as docs/api.md describes it: HS256 with the key ID
// as kid, signed with the secret's bytes; aud https://api.statebacked.dev/;
// iss the key's client URL; iat not in the future; exp in the future and at
// most an hour after iat; an act object. It returns the token's scopes (nil:
// every scope). It is written here by hand, on purpose: a second reading of
// those facts, independent of the client's JWT library.
func (e *Emulator) checkKeyToken(token string, now time.Time) ([]string, *apiError) {
	refuse := func(why string) ([]string, *apiError) {
		return nil, &apiError{status: http.StatusUnauthorized, Message: "missing or invalid bearer token: " + why, Code: "unauthorized"}
	}
	if len(e.cfg.Keys)+len(e.cfg.CIKeys) == 0 || token == "" {
		return refuse("not the emulator's token")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return refuse("not a JWT")
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if decodeSegment(parts[0], &header) != nil || header.Alg != "HS256" {
		return refuse("the header must be HS256")
	}
	secret, ok := e.cfg.Keys[header.Kid]
	scopes := e.cfg.Scopes
	if !ok {
		secret, ok = e.cfg.CIKeys[header.Kid]
		scopes = ciScopes
	}
	if !ok {
		return refuse("unknown key " + header.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac([]byte(secret), parts[0]+"."+parts[1])) {
		return refuse("bad signature")
	}
	var claims struct {
		Aud string          `json:"aud"`
		Iss string          `json:"iss"`
		Iat int64           `json:"iat"`
		Exp int64           `json:"exp"`
		Act json.RawMessage `json:"act"`
	}
	var act map[string]json.RawMessage
	switch {
	case decodeSegment(parts[1], &claims) != nil:
		return refuse("unreadable claims")
	case claims.Aud != "https://api.statebacked.dev/":
		return refuse("wrong aud")
	case claims.Iss != "https://"+header.Kid+".client.statebacked.dev/":
		return refuse("wrong iss")
	case claims.Iat > now.Unix()+60:
		return refuse("iat in the future")
	case claims.Exp <= now.Unix():
		return refuse("expired")
	case claims.Exp-claims.Iat > 3600:
		return refuse("lifetime over an hour")
	case json.Unmarshal(claims.Act, &act) != nil || act == nil:
		return refuse("act must be an object")
	}
	return scopes, nil
}

func decodeSegment(seg string, v any) error {
	data, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
