package deploy

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
)

// VersionInfo describes a machine version as the API lists it.
type VersionInfo struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"createdAt"`
	ClientInfo string `json:"clientInfo"`
}

// checkVersion checks the ID of a version the server described.
func (c *Client) checkVersion(step Step, v VersionInfo) error {
	return c.checkServerID(step, "version id", v.ID)
}

// Machine is what the API says of a machine.
type Machine struct {
	// CurrentVersion is the version new instances start on; nil before the
	// machine has one.
	CurrentVersion *VersionInfo `json:"currentVersion"`
}

// GetMachine describes machine; an error that IsNotFound if it does not
// exist.
func (c *Client) GetMachine(ctx context.Context, machine string) (*Machine, error) {
	path, err := machinePath(machine)
	if err != nil {
		return nil, err
	}
	var out struct {
		Machine *Machine `json:"machine"`
	}
	if err := c.call(ctx, StepGetMachine, http.MethodGet, path, nil, nil, &out); err != nil {
		return nil, err
	}
	m := cmp.Or(out.Machine, &Machine{})
	if m.CurrentVersion != nil {
		if err := c.checkVersion(StepGetMachine, *m.CurrentVersion); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// EnsureMachine creates machine, with indexes, unless it exists. It reports
// whether it created it; a machine created meanwhile by someone else (409)
// counts as existing.
func (c *Client) EnsureMachine(ctx context.Context, machine string, indexes []string) (bool, error) {
	path, err := machinePath(machine)
	if err != nil {
		return false, err
	}
	if err := c.call(ctx, StepGetMachine, http.MethodGet, path, nil, nil, nil); !IsNotFound(err) {
		return false, err // nil when it exists
	}
	if indexes == nil {
		indexes = []string{}
	}
	in := struct {
		Slug    string   `json:"slug"`
		Indexes []string `json:"indexes"`
	}{machine, indexes}
	err = c.call(ctx, StepCreateMachine, http.MethodPost, "/machines", nil, in, nil)
	if isAPIError(err, http.StatusConflict, "") {
		return false, nil
	}
	return err == nil, err
}

// Versions lists machine's versions page by page, handing each page to
// visit before the next is asked for; an error from visit ends the listing.
func (c *Client) Versions(ctx context.Context, machine string, visit func([]VersionInfo) error) error {
	path, err := machinePath(machine, "/v")
	if err != nil {
		return err
	}
	return paginate(ctx, c, StepListVersions, path, func(page *struct {
		Versions []VersionInfo `json:"versions"`
		Cursor   string        `json:"cursor"`
	}) ([]VersionInfo, string, error) {
		for _, v := range page.Versions {
			if err := c.checkVersion(StepListVersions, v); err != nil {
				return nil, "", err
			}
		}
		return page.Versions, page.Cursor, nil
	}, visit)
}

// DeletionProof is what the API takes as proof that a deletion names what it
// means to: base64url, without padding, of HMAC-SHA256 keyed with the
// machine name over name (the machine's own name, or an instance's).
func DeletionProof(machine, name string) string {
	mac := hmac.New(sha256.New, []byte(machine))
	mac.Write([]byte(name))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// DeleteMachine deletes machine with all its versions, migrations and
// instances, for good. The API refuses (409 invalid-state) while the machine
// has instances.
func (c *Client) DeleteMachine(ctx context.Context, machine string) error {
	path, err := machinePath(machine)
	if err != nil {
		return err
	}
	return c.deleteForever(ctx, StepDeleteMachine, path, "hmacSha256OfMachineNameWithMachineNameKey", DeletionProof(machine, machine))
}

// FindVersion returns the version of machine whose clientInfo is
// clientInfo, or nil if there is none: the way to tell that a version of
// this code was deployed before. With current, only the machine's current
// version can match (one request); otherwise its versions are listed, page
// by page, until one matches. An empty clientInfo never matches: it names no
// code.
func (c *Client) FindVersion(ctx context.Context, machine, clientInfo string, current bool) (*VersionInfo, error) {
	if clientInfo == "" {
		return nil, nil
	}
	if current {
		m, err := c.GetMachine(ctx, machine)
		if err != nil || m.CurrentVersion == nil || m.CurrentVersion.ClientInfo != clientInfo {
			return nil, err
		}
		return m.CurrentVersion, nil
	}
	var found *VersionInfo
	errFound := errors.New("found")
	err := c.Versions(ctx, machine, func(page []VersionInfo) error {
		for _, v := range page {
			if v.ClientInfo == clientInfo {
				found = &v
				return errFound
			}
		}
		return nil
	})
	if err != nil && err != errFound {
		return nil, err
	}
	return found, nil
}
