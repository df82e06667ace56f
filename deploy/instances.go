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
	return paginate(ctx, StepListInstances, c.text, func(ctx context.Context, cursor string) ([]Instance, string, error) {
		var out struct {
			Instances []Instance `json:"instances"`
			Cursor    string     `json:"cursor"`
		}
		if err := c.listPage(ctx, StepListInstances, path, cursor, &out); err != nil {
			return nil, "", err
		}
		for _, in := range out.Instances {
			if !ValidSlug(in.Slug) {
				return nil, "", fmt.Errorf("%s response refused: invalid instance name %q", StepListInstances, c.text(in.Slug))
			}
			if in.Version.ID != "" {
				if err := c.checkVersion(StepListInstances, in.Version); err != nil {
					return nil, "", err
				}
			}
		}
		return out.Instances, out.Cursor, nil
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
	body := struct {
		Danger bool   `json:"dangerDataWillBeDeletedForever"`
		Proof  string `json:"hmacSha256OfMachineInstanceNameWithMachineNameKey"`
	}{true, DeletionProof(machine, instance)}
	return c.call(ctx, StepDeleteInstance, http.MethodDelete, path, nil, body, nil)
}

// DeleteInstances deletes instances of machine with at most workers
// requests at a time, calling deleted (if not nil, never concurrently) after
// each deletion this run made. An instance that is already gone is skipped;
// one whose earlier attempt got no answer and whose retry finds it gone is
// counted, since that attempt deleted it. After the first failure no new
// deletion starts. It returns how many instances it deleted.
func (c *Client) DeleteInstances(ctx context.Context, machine string, instances []string, workers int, deleted func()) (int, error) {
	n := 0
	err := each(ctx, instances, workers, func(ctx context.Context, name string) (bool, error) {
		err := c.DeleteInstance(ctx, machine, name)
		switch {
		case err == nil, goneAfterRetry(err):
			return true, nil
		case IsNotFound(err):
			return false, nil
		}
		return false, fmt.Errorf("instance %s: %w", name, err)
	}, func(_ string, ok bool) {
		if !ok {
			return // gone already
		}
		n++
		if deleted != nil {
			deleted()
		}
	})
	return n, err
}

// SetInstanceVersion asks instance of machine to move to version the next
// time an event reaches it from a settled state. The API refuses with 400
// no-migration-path when no chain of migrations leads there.
func (c *Client) SetInstanceVersion(ctx context.Context, machine, instance, version string) error {
	if err := checkID("target version", version); err != nil {
		return err
	}
	r, err := c.moveRequest(machine, instance, version)
	if err != nil {
		return err
	}
	return c.do(ctx, r, nil)
}
