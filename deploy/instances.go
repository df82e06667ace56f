package deploy

import (
	"context"
	"fmt"
	"net/http"
)

// The steps that list, move and delete instances, and delete a machine.
const (
	StepListInstances      Step = "list-instances"
	StepSetInstanceVersion Step = "set-instance-version"
	StepDeleteInstance     Step = "delete-instance"
	StepDeleteMachine      Step = "delete-machine"
)

// Instance is one instance of a machine, as the API lists it.
type Instance struct {
	Slug   string `json:"slug"`
	Status string `json:"status"` // running or paused
	// Version is the version the instance runs now; its ID is "" when the
	// server did not say.
	Version VersionInfo `json:"machineVersion"`
}

// Instances lists machine's instances page by page, handing each page to
// visit before the next is asked for; an error from visit ends the listing.
// However many instances there are, one page is held at a time.
func (c *Client) Instances(ctx context.Context, machine string, visit func([]Instance) error) error {
	path, err := machinePath(machine, "/i")
	if err != nil {
		return err
	}
	return paginate(ctx, c, StepListInstances, path, func(page *struct {
		Instances []Instance `json:"instances"`
		Cursor    string     `json:"cursor"`
	}) ([]Instance, string, error) {
		for _, in := range page.Instances {
			if !ValidSlug(in.Slug) {
				return nil, "", fmt.Errorf("%s response refused: invalid instance name %q", StepListInstances, c.text(in.Slug))
			}
			if in.Version.ID != "" {
				if err := c.checkVersion(StepListInstances, in.Version); err != nil {
					return nil, "", err
				}
			}
		}
		return page.Instances, page.Cursor, nil
	}, visit)
}

// instancePath is the path of one instance, both names checked.
func instancePath(machine, instance string, rest ...string) (string, error) {
	if !ValidSlug(instance) {
		return "", fmt.Errorf("invalid instance name %q", instance)
	}
	return machinePath(machine, append([]string{"/i/", instance}, rest...)...)
}

// DeleteInstance deletes one instance of machine, for good.
func (c *Client) DeleteInstance(ctx context.Context, machine, instance string) error {
	path, err := instancePath(machine, instance)
	if err != nil {
		return err
	}
	return c.deleteForever(ctx, StepDeleteInstance, path, "hmacSha256OfMachineInstanceNameWithMachineNameKey", DeletionProof(machine, instance))
}

// deleteForever sends DELETE to path with the body the API requires: the
// acknowledgement that data is deleted for good, and the deletion's proof
// (see DeletionProof) under proofMember.
func (c *Client) deleteForever(ctx context.Context, step Step, path, proofMember, proof string) error {
	body := map[string]any{"dangerDataWillBeDeletedForever": true, proofMember: proof}
	return c.call(ctx, step, http.MethodDelete, path, nil, body, nil)
}
