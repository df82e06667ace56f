package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// The steps of a machine version deploy (its upload is StepUpload) and of
// creating a machine.
const (
	StepProvisionVersion Step = "provision-version"
	StepFinalizeVersion  Step = "finalize-version"
	StepGetMachine       Step = "get-machine"
	StepCreateMachine    Step = "create-machine"
)

// Version is a machine version to deploy.
type Version struct {
	Machine string
	// Code is the bundle to upload: gzipped if Gzipped is true.
	Code    []byte
	Gzipped bool
	// ClientInfo names the version for people, such as a commit SHA.
	ClientInfo string
	// MakeCurrent makes new instances use this version.
	MakeCurrent bool
	// IndexSelectors is a JSON object, or nil.
	IndexSelectors json.RawMessage
}

// Filename is the name the uploaded file part carries.
func (v Version) Filename() string { return v.Machine + ".js" }

// DeployVersion provisions v, uploads its code and finalizes it, calling
// done (if not nil) after each step. It returns the machine version ID.
func (c *Client) DeployVersion(ctx context.Context, v Version, done func(StepDone)) (string, error) {
	return c.deployCode(ctx, codeDeploy{
		provisionStep: StepProvisionVersion,
		finalizeStep:  StepFinalizeVersion,
		provision: func(ctx context.Context) (*Upload, error) {
			return c.ProvisionVersion(ctx, v.Machine, v.Gzipped)
		},
		finalize: func(ctx context.Context, signedID string) (string, error) {
			return c.FinalizeVersion(ctx, v, signedID)
		},
		filename: v.Filename(),
		code:     v.Code,
		gzipped:  v.Gzipped,
	}, done)
}

// ProvisionVersion asks for an upload URL for a new version of machine.
func (c *Client) ProvisionVersion(ctx context.Context, machine string, gzipped bool) (*Upload, error) {
	if !ValidSlug(machine) {
		return nil, fmt.Errorf("invalid machine name %q", machine)
	}
	var out struct {
		ID string `json:"machineVersionId"`
		provisioned
	}
	if err := c.do(ctx, StepProvisionVersion, http.MethodPost, "/machines/"+machine+"/v", gzipQuery(gzipped), struct{}{}, &out); err != nil {
		return nil, err
	}
	return out.upload(StepProvisionVersion, "machineVersionId", out.ID)
}

// FinalizeVersion confirms the upload of v and returns the version's ID.
func (c *Client) FinalizeVersion(ctx context.Context, v Version, signedID string) (string, error) {
	in := struct {
		ClientInfo     string          `json:"clientInfo,omitempty"`
		MakeCurrent    bool            `json:"makeCurrent"`
		IndexSelectors json.RawMessage `json:"indexSelectors,omitempty"`
	}{v.ClientInfo, v.MakeCurrent, v.IndexSelectors}
	var out struct {
		ID string `json:"machineVersionId"`
	}
	path := "/machines/" + v.Machine + "/v/" + url.PathEscape(signedID)
	if err := c.do(ctx, StepFinalizeVersion, http.MethodPut, path, nil, in, &out); err != nil {
		return "", err
	}
	if err := checkID(StepFinalizeVersion, "machineVersionId", out.ID); err != nil {
		return "", err
	}
	return out.ID, nil
}

// EnsureMachine creates machine, with indexes, unless it exists. It reports
// whether it created it; a machine created meanwhile by someone else (409)
// counts as existing.
func (c *Client) EnsureMachine(ctx context.Context, machine string, indexes []string) (bool, error) {
	if !ValidSlug(machine) {
		return false, fmt.Errorf("invalid machine name %q", machine)
	}
	err := c.do(ctx, StepGetMachine, http.MethodGet, "/machines/"+machine, nil, nil, nil)
	if err == nil {
		return false, nil
	}
	if !IsNotFound(err) {
		return false, err
	}
	if indexes == nil {
		indexes = []string{}
	}
	in := struct {
		Slug    string   `json:"slug"`
		Indexes []string `json:"indexes"`
	}{machine, indexes}
	err = c.do(ctx, StepCreateMachine, http.MethodPost, "/machines", nil, in, nil)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict {
		return false, nil
	}
	return err == nil, err
}
