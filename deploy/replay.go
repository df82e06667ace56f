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
		var names []string
		for _, in := range page {
			if in.Version.ID == version && read+len(names) < max {
				names = append(names, in.Slug)
			}
		}
		states := make([]Replayed, len(names))
		index := make(map[string]int, len(names))
		for i, name := range names {
			index[name] = i
		}
		err := each(ctx, names, ReadWorkers, func(ctx context.Context, name string) (bool, error) {
			s, err := c.InstanceState(ctx, machine, name)
			if err == nil {
				states[index[name]] = Replayed{Name: name, InstanceState: s}
			}
			return true, err
		}, nil)
		if err != nil {
			return err
		}
		read += len(names)
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
