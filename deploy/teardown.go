package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// maxTeardownPasses bounds how often a teardown lists and deletes
// instances before giving up on a machine that keeps having some. One pass
// is enough when the listing's cursor survives deletions; a cursor that
// counts positions skips some, and the next pass finds them.
const maxTeardownPasses = 5

// Teardown describes a machine deletion.
type Teardown struct {
	Machine string
	// DeleteInstances deletes every instance first; without it the API
	// refuses to delete a machine that has instances.
	DeleteInstances bool
	// DryRun lists and counts, and deletes nothing.
	DryRun bool
	// Workers bounds concurrent instance deletions; 0 means 8.
	Workers int
	// Progress, if not nil, is called after each instance deletion with the
	// number deleted so far, never concurrently.
	Progress func(deleted int)
}

// TeardownResult is what a teardown found and did.
type TeardownResult struct {
	// Instances is how many instances the listings showed.
	Instances int
	// DeletedInstances is how many instances this run deleted.
	DeletedInstances int
	// Deleted reports that this run deleted the machine.
	Deleted bool
	// AlreadyGone reports that the machine did not exist (404) when the
	// teardown began.
	AlreadyGone bool
}

// ErrMachineVanished reports a machine that was there when a listing began
// and gone before it ended: someone else is changing it.
var ErrMachineVanished = errors.New("the machine disappeared during the listing")

// Teardown deletes t.Machine: first, with t.DeleteInstances, all of its
// instances, page by page as they are listed; then the machine. A machine
// that does not exist is not an error: AlreadyGone is set, so that reruns
// succeed.
func (c *Client) Teardown(ctx context.Context, t Teardown) (TeardownResult, error) {
	var res TeardownResult
	if t.DryRun {
		err := c.instancePass(ctx, t, &res)
		if IsNotFound(err) && !errors.Is(err, ErrMachineVanished) {
			return TeardownResult{AlreadyGone: true}, nil
		}
		return res, err
	}
	for pass := 1; ; pass++ {
		deletedBefore := res.DeletedInstances
		if t.DeleteInstances {
			err := c.instancePass(ctx, t, &res)
			switch {
			case pass == 1 && IsNotFound(err) && !errors.Is(err, ErrMachineVanished):
				return TeardownResult{AlreadyGone: true}, nil
			case err != nil:
				return res, fmt.Errorf("deleted %d instances, then stopped; the machine was not deleted: %w", res.DeletedInstances, err)
			}
		}
		err := c.DeleteMachine(ctx, t.Machine)
		switch {
		case goneAfterRetry(err):
			res.Deleted = true // an earlier attempt deleted it; its answer was lost
		case IsNotFound(err):
			res.AlreadyGone = res.DeletedInstances == 0 // else someone else deleted it meanwhile
		case isAPIError(err, http.StatusConflict, "invalid-state") && t.DeleteInstances && res.DeletedInstances > deletedBefore && pass < maxTeardownPasses:
			continue // the listing skipped some, or new ones came: list again
		case err != nil:
			return res, err
		default:
			res.Deleted = true
		}
		return res, nil
	}
}

// instancePass lists every instance once, counting them and, unless
// t.DryRun, deleting each page's instances with at most t.Workers requests
// at a time before the next page is asked for. An instance that is already
// gone is skipped; one whose earlier attempt got no answer and whose retry
// finds it gone is counted, since that attempt deleted it. After the first
// failure no new deletion starts.
func (c *Client) instancePass(ctx context.Context, t Teardown, res *TeardownResult) error {
	workers := t.Workers
	if workers <= 0 {
		workers = 8
	}
	pages := 0
	var mu sync.Mutex // Progress is never called concurrently
	err := c.Instances(ctx, t.Machine, func(page []Instance) error {
		pages++
		res.Instances += len(page)
		if t.DryRun {
			return nil
		}
		return each(ctx, len(page), workers, func(ctx context.Context, i int) error {
			switch err := c.DeleteInstance(ctx, t.Machine, page[i].Slug); {
			case err == nil, goneAfterRetry(err):
			case IsNotFound(err):
				return nil // gone already
			default:
				return fmt.Errorf("instance %s: %w", page[i].Slug, err)
			}
			mu.Lock()
			defer mu.Unlock()
			res.DeletedInstances++
			if t.Progress != nil {
				t.Progress(res.DeletedInstances)
			}
			return nil
		})
	})
	if pages > 0 && IsNotFound(err) {
		return fmt.Errorf("%w (after %d pages): %w", ErrMachineVanished, pages, err)
	}
	return err
}
