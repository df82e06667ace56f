package deploy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Audience is the aud claim every StateBacked token carries.
const Audience = "https://api.statebacked.dev/"

// MaxTokenLifetime is the longest lifetime MintToken gives a token: a
// leaked CI token should stop working soon.
const MaxTokenLifetime = time.Hour

var (
	// Lengths are checked apart: see slugPattern.
	keyIDPattern  = regexp.MustCompile(`^sbk_[A-Za-z0-9_-]+$`)
	secretPattern = regexp.MustCompile(`^sbsec_[A-Za-z0-9_-]+$`)
)

// Key is a StateBacked API key, as `smply keys create` prints it.
type Key struct {
	ID     string // sbk_...
	Secret string // sbsec_...
}

// Check reports what is wrong with the key's form, without showing the
// secret.
func (k Key) Check() error {
	var errs []error
	switch {
	case strings.HasPrefix(k.ID, "sbsec_"):
		errs = append(errs, errors.New("the key ID looks like a secret key (sbsec_...); its value is not shown: the key ID is the sbk_... part"))
	case len(k.ID) > 204 || !keyIDPattern.MatchString(k.ID):
		errs = append(errs, errors.New("the key ID is not of the form sbk_... (its value is not shown, in case it is a secret)"))
	}
	if len(k.Secret) > 506 || !secretPattern.MatchString(k.Secret) {
		errs = append(errs, errors.New("the secret key is not of the form sbsec_... (its value is not shown)"))
	}
	return errors.Join(errs...)
}

// MintToken signs a token with key: HS256 over the secret's UTF-8 bytes,
// with the key ID as kid, aud Audience, iss the key's client URL, iat now,
// exp now+lifetime, and act the end-user claims (such as {"sub": "..."}).
func MintToken(key Key, act map[string]any, lifetime time.Duration, now time.Time) (string, error) {
	if err := key.Check(); err != nil {
		return "", err
	}
	if lifetime <= 0 || lifetime > MaxTokenLifetime {
		return "", fmt.Errorf("token lifetime %v is not within (0, %v]", lifetime, MaxTokenLifetime)
	}
	if act == nil {
		act = map[string]any{}
	}
	token := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"aud": Audience,
		"iss": "https://" + key.ID + ".client.statebacked.dev/",
		"iat": now.Unix(),
		"exp": now.Add(lifetime).Unix(),
		"act": act,
	})
	token.Header["kid"] = key.ID
	return token.SignedString([]byte(key.Secret))
}
