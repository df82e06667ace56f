package deploy

import (
	"context"
	"errors"
	"slices"
)

// ReadWorkers is how many instance states ReplayStates reads at a time.
const ReadWorkers = 8

// Replayed is one instance's full state, named.
type Replayed struct {
	Name string
	*InstanceState
}

// ReplayStates reads the full state of the instances of machine that run
// version, at most max of them, in the order the listing gives them: page
// by page, ReadWorkers reads at a time, handing each page's states to
// visit before the next page is asked for. Only one page is held at a
// time. Instances on other versions are listed, never read; one that the
// read finds on another version (it moved) is left out.
func (c *Client) ReplayStates(ctx context.Context, machine, version string, max int, visit func([]Replayed) error) error {
	enough := errors.New("enough instances")
	read := 0
	err := c.Instances(ctx, machine, func(page []Instance) error {
		var states []Replayed
		for _, in := range page {
			if in.Version.ID == version && read+len(states) < max {
				states = append(states, Replayed{Name: in.Slug})
			}
		}
		// Each read fills its own slot, even for a name listed twice.
		err := each(ctx, len(states), ReadWorkers, func(ctx context.Context, i int) error {
			var err error
			states[i].InstanceState, err = c.InstanceState(ctx, machine, states[i].Name)
			return err
		})
		if err != nil {
			return err
		}
		read += len(states)
		// One that moved between the listing and the read is not on version.
		states = slices.DeleteFunc(states, func(r Replayed) bool { return r.Version.ID != "" && r.Version.ID != version })
		if len(states) > 0 {
			if err := visit(states); err != nil {
				return err
			}
		}
		if read >= max {
			return enough
		}
		return nil
	})
	if errors.Is(err, enough) {
		return nil
	}
	return err
}
