package deploy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
)

// The steps of a teardown.
const (
	StepDeleteMachine  Step = "delete-machine"
	StepListInstances  Step = "list-instances"
	StepDeleteInstance Step = "delete-instance"
)

// maxInstancePages bounds listing, so a server that keeps answering with new
// cursors cannot keep the run going until its timeout.
const maxInstancePages = 100_000

// DeletionProof is what the API takes as proof that a deletion names what it
// means to: base64url, without padding, of HMAC-SHA256 keyed with the
// machine name over name (the machine's own name, or an instance's).
func DeletionProof(machine, name string) string {
	mac := hmac.New(sha256.New, []byte(machine))
	mac.Write([]byte(name))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// IsNotFound reports whether err is a 404 answer from the API.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// DeleteMachine deletes machine with all its versions, migrations and
// instances, for good. The API refuses (409 invalid-state) while the machine
// has instances.
func (c *Client) DeleteMachine(ctx context.Context, machine string) error {
	if !ValidSlug(machine) {
		return fmt.Errorf("invalid machine name %q", machine)
	}
	body := struct {
		Danger bool   `json:"dangerDataWillBeDeletedForever"`
		Proof  string `json:"hmacSha256OfMachineNameWithMachineNameKey"`
	}{true, DeletionProof(machine, machine)}
	return c.do(ctx, StepDeleteMachine, http.MethodDelete, "/machines/"+machine, nil, body, nil)
}

// DeleteInstance deletes one instance of machine, for good.
func (c *Client) DeleteInstance(ctx context.Context, machine, instance string) error {
	if !ValidSlug(machine) || !ValidSlug(instance) {
		return fmt.Errorf("invalid machine or instance name %q/%q", machine, instance)
	}
	body := struct {
		Danger bool   `json:"dangerDataWillBeDeletedForever"`
		Proof  string `json:"hmacSha256OfMachineInstanceNameWithMachineNameKey"`
	}{true, DeletionProof(machine, instance)}
	return c.do(ctx, StepDeleteInstance, http.MethodDelete, "/machines/"+machine+"/i/"+instance, nil, body, nil)
}

// ListInstances returns one page of machine's instance names and the cursor
// of the next page ("" after the last).
func (c *Client) ListInstances(ctx context.Context, machine, cursor string) ([]string, string, error) {
	if !ValidSlug(machine) {
		return nil, "", fmt.Errorf("invalid machine name %q", machine)
	}
	var q url.Values
	if cursor != "" {
		q = url.Values{"cursor": {cursor}}
	}
	var out struct {
		Instances []struct {
			Slug string `json:"slug"`
		} `json:"instances"`
		Cursor string `json:"cursor"`
	}
	if err := c.do(ctx, StepListInstances, http.MethodGet, "/machines/"+machine+"/i", q, nil, &out); err != nil {
		return nil, "", err
	}
	names := make([]string, 0, len(out.Instances))
	for _, in := range out.Instances {
		if !ValidSlug(in.Slug) {
			return nil, "", fmt.Errorf("list-instances response has an invalid instance name %q", truncate(in.Slug, 80))
		}
		names = append(names, in.Slug)
	}
	return names, out.Cursor, nil
}

// AllInstances lists every instance of machine, page by page.
func (c *Client) AllInstances(ctx context.Context, machine string) ([]string, error) {
	var all []string
	seen := map[string]bool{}
	cursor := ""
	for range maxInstancePages {
		names, next, err := c.ListInstances(ctx, machine, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, names...)
		if next == "" {
			return all, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("list-instances: the API sent cursor %q twice; stopping instead of looping", truncate(next, 40))
		}
		seen[next] = true
		cursor = next
	}
	return nil, fmt.Errorf("list-instances: more than %d pages; stopping", maxInstancePages)
}

// DeleteInstances deletes instances of machine with at most workers requests
// at a time, calling progress (if not nil, never concurrently) after each
// deletion. An instance that is already gone is skipped (but counted when
// an earlier attempt of this run deleted it). After the first
// failure no new deletion starts; those under way finish. It returns how
// many instances it deleted.
func (c *Client) DeleteInstances(ctx context.Context, machine string, instances []string, workers int, progress func(deleted, total int)) (int, error) {
	var (
		mu       sync.Mutex
		deleted  int
		firstErr error
		failed   = make(chan struct{})
		todo     = make(chan string)
		wg       sync.WaitGroup
	)
	for range max(1, min(workers, len(instances))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range todo {
				select {
				case <-failed: // the feeder's select may still hand out a name after a failure
					continue
				default:
				}
				err := c.DeleteInstance(ctx, machine, name)
				mu.Lock()
				switch {
				case err == nil, goneAfterRetry(err):
					deleted++
					if progress != nil {
						progress(deleted, len(instances))
					}
				case IsNotFound(err):
				case firstErr == nil:
					firstErr = fmt.Errorf("instance %s: %w", name, err)
					close(failed)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, name := range instances {
		select {
		case todo <- name:
		case <-failed:
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(todo)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return deleted, firstErr
}

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
	// Progress, if not nil, is called after each instance deletion.
	Progress func(deleted, total int)
}

// TeardownResult is what a teardown found and did.
type TeardownResult struct {
	// Listed reports whether instances were listed (DeleteInstances or DryRun).
	Listed bool
	// Instances is how many instances the machine had when listed.
	Instances int
	// DeletedInstances is how many instances this run deleted.
	DeletedInstances int
	// Deleted reports that this run deleted the machine.
	Deleted bool
	// AlreadyGone reports that the machine did not exist (404).
	AlreadyGone bool
}

// Teardown deletes t.Machine: first, with t.DeleteInstances, all of its
// instances; then the machine. A machine that does not exist is not an
// error: AlreadyGone is set, so that reruns succeed.
func (c *Client) Teardown(ctx context.Context, t Teardown) (TeardownResult, error) {
	var res TeardownResult
	var instances []string
	if t.DeleteInstances || t.DryRun {
		var err error
		instances, err = c.AllInstances(ctx, t.Machine)
		if IsNotFound(err) {
			res.AlreadyGone = true
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.Listed, res.Instances = true, len(instances)
	}
	if t.DryRun {
		return res, nil
	}
	if t.DeleteInstances && len(instances) > 0 {
		workers := t.Workers
		if workers <= 0 {
			workers = 8
		}
		n, err := c.DeleteInstances(ctx, t.Machine, instances, workers, t.Progress)
		res.DeletedInstances = n
		if err != nil {
			return res, fmt.Errorf("deleted %d of %d instances, then stopped; the machine was not deleted: %w", n, len(instances), err)
		}
	}
	err := c.DeleteMachine(ctx, t.Machine)
	switch {
	case goneAfterRetry(err):
		res.Deleted = true // an earlier attempt deleted it; its answer was lost
	case IsNotFound(err):
		res.AlreadyGone = true
	case err != nil:
		return res, err
	default:
		res.Deleted = true
	}
	return res, nil
}
