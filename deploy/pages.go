package deploy

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"sync"
)

// maxPages bounds a listing, so a server that keeps answering with new
// cursors cannot keep a run going until its timeout.
const maxPages = 100_000

// paginate asks for the pages of a listing one at a time, fetch getting
// each page's items and the next page's cursor ("" after the last) from a
// cursor ("" for the first), and hands each page to visit before the next is
// asked for, until the last page or an error. Only one page is held at a
// time, whatever the listing's length. A cursor sent twice would loop
// forever, so it ends the listing before its page is visited, shown as show
// makes server text fit to print; cursors are remembered by their hash, so
// what is held stays small whatever the server sends.
func paginate[T any](ctx context.Context, step Step, show func(string) string, fetch func(ctx context.Context, cursor string) ([]T, string, error), visit func([]T) error) error {
	seen := map[[sha256.Size]byte]bool{}
	cursor := ""
	for range maxPages {
		items, next, err := fetch(ctx, cursor)
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(next))
		if next != "" && seen[sum] {
			return fmt.Errorf("%s: the API sent cursor %q twice; stopping instead of looping", step, show(next))
		}
		if err := visit(items); err != nil || next == "" {
			return err
		}
		seen[sum] = true
		cursor = next
	}
	return fmt.Errorf("%s: more than %d pages; stopping", step, maxPages)
}

// listPage gets one page of the listing at path into out, whose cursor
// member is read by the caller.
func (c *Client) listPage(ctx context.Context, step Step, path, cursor string, out any) error {
	var q url.Values
	if cursor != "" {
		q = url.Values{"cursor": {cursor}}
	}
	return c.call(ctx, step, http.MethodGet, path, q, nil, out)
}

// each calls do for every item with at most workers calls at a time. After
// the first error no new call starts (those under way finish), and that
// error is returned; so is the context's error if it ended first. done, if
// not nil, is called after each call that did not fail, with what do
// reported, never concurrently.
func each[T any](ctx context.Context, items []T, workers int, do func(context.Context, T) (bool, error), done func(T, bool)) error {
	var (
		mu       sync.Mutex
		firstErr error
		stop     = make(chan struct{})
		todo     = make(chan T)
		wg       sync.WaitGroup
	)
	for range max(1, min(workers, len(items))) {
		wg.Go(func() {
			for item := range todo {
				select {
				case <-stop: // the feeder's select may still hand one out after a failure
					continue
				default:
				}
				ok, err := do(ctx, item)
				mu.Lock()
				switch {
				case err == nil && done != nil:
					done(item, ok)
				case err != nil && firstErr == nil:
					firstErr = err
					close(stop)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, item := range items {
		select {
		case todo <- item:
		case <-stop:
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(todo)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}
