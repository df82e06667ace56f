package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// MaxStrandedNames is how many stranded instances a RolloutResult names;
// the rest are counted.
const MaxStrandedNames = 20

// maxVersionsCounted bounds RolloutResult.Before: a listing with more
// distinct versions counts the rest under OtherVersions.
const maxVersionsCounted = 100

// OtherVersions is the key of RolloutResult.Before that counts instances on
// versions past the first maxVersionsCounted.
const OtherVersions = "(other versions)"

// Rollout describes moving every instance of a machine to a version.
type Rollout struct {
	Machine string
	To      string // the version ID to move instances to
	// DryRun lists and counts, and asks no instance to move.
	DryRun bool
	// Workers bounds the requests in flight; 0 means 8.
	Workers int
	// Progress, if not nil, is called after each instance asked to move,
	// with the number asked so far, never concurrently.
	Progress func(asked int)
}

// RolloutResult is what a rollout found and did.
type RolloutResult struct {
	// Instances is how many instances the listing showed.
	Instances int
	// Before counts the listed instances by the version they ran (by ID;
	// "" when the server did not say). After counts them by the version they
	// will run once the next event reaches them: the target for those asked
	// to move and those on it already, their own for the stranded. A dry run
	// leaves After empty.
	Before, After map[string]int
	// OnTarget is how many already ran the target version.
	OnTarget int
	// Asked is how many were asked to move and accepted (on a dry run: how
	// many would be asked).
	Asked int
	// Stranded is how many have no migration path to the target (400
	// no-migration-path); StrandedNames names the first MaxStrandedNames.
	Stranded      int
	StrandedNames []string
}

// Rollout asks every instance of r.Machine that does not run r.To to move
// to it, page by page as the instances are listed, with at most r.Workers
// requests at a time. An instance with no migration path to r.To is
// stranded, not a failure: it is counted and the rollout goes on. Any other
// error ends the rollout (no new request starts); the result then says how
// far it got. The API moves an instance when the next event reaches it, so
// a rollout can be run again: an instance already asked is asked again, and
// the answer is the same.
func (c *Client) Rollout(ctx context.Context, r Rollout) (RolloutResult, error) {
	res := RolloutResult{Before: map[string]int{}, After: map[string]int{}}
	if err := checkID("target version", r.To); err != nil {
		return res, err
	}
	workers := r.Workers
	if workers <= 0 {
		workers = 8
	}
	err := c.Instances(ctx, r.Machine, func(page []Instance) error {
		var move []string
		versionOf := map[string]string{} // this page's, to count the stranded by version
		for _, in := range page {
			count(res.Before, in.Version.ID)
			res.Instances++
			if in.Version.ID == r.To {
				res.OnTarget++
				if !r.DryRun {
					count(res.After, r.To)
				}
				continue
			}
			move = append(move, in.Slug)
			versionOf[in.Slug] = in.Version.ID
		}
		if r.DryRun {
			res.Asked += len(move)
			return nil
		}
		return each(ctx, move, workers, func(ctx context.Context, name string) (bool, error) {
			err := c.SetInstanceVersion(ctx, r.Machine, name, r.To)
			switch {
			case err == nil:
				return true, nil
			case isNoMigrationPath(err):
				return false, nil
			}
			return false, fmt.Errorf("instance %s: %w", name, err)
		}, func(name string, moved bool) {
			if !moved {
				res.strand(name)
				count(res.After, versionOf[name])
				return
			}
			count(res.After, r.To)
			res.Asked++
			if r.Progress != nil {
				r.Progress(res.Asked)
			}
		})
	})
	slices.Sort(res.StrandedNames) // the workers finish in any order
	return res, err
}

// strand records an instance with no migration path to the target.
func (res *RolloutResult) strand(name string) {
	res.Stranded++
	if len(res.StrandedNames) < MaxStrandedNames {
		res.StrandedNames = append(res.StrandedNames, name)
	}
}

// count counts one instance on version, keeping at most
// maxVersionsCounted versions apart: a listing with a new version on every
// instance cannot grow the map without bound.
func count(counts map[string]int, version string) {
	if _, ok := counts[version]; ok || len(counts) < maxVersionsCounted {
		counts[version]++
		return
	}
	counts[OtherVersions]++
}

func isNoMigrationPath(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusBadRequest && e.Code == "no-migration-path"
}
