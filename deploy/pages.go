package deploy

import (
	"cmp"
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

// paginate asks for the pages of the listing at path one at a time, each
// decoded into a new P, from which items takes the page's items and the next
// page's cursor ("" after the last), and hands each page's items to visit
// before the next page is asked for, until the last page or an error. Only
// one page is held at a time, whatever the listing's length. A cursor sent
// twice would loop forever, so it ends the listing before its page is
// visited; cursors are remembered by their hash, so what is held stays small
// whatever the server sends.
func paginate[P, T any](ctx context.Context, c *Client, step Step, path string, items func(*P) ([]T, string, error), visit func([]T) error) error {
	seen := map[[sha256.Size]byte]bool{}
	cursor := ""
	for range maxPages {
		var query url.Values
		if cursor != "" {
			query = url.Values{"cursor": {cursor}}
		}
		var page P
		if err := c.call(ctx, step, http.MethodGet, path, query, nil, &page); err != nil {
			return err
		}
		list, next, err := items(&page)
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(next))
		if next != "" && seen[sum] {
			return fmt.Errorf("%s: the API sent cursor %q twice; stopping instead of looping", step, c.text(next))
		}
		if err := visit(list); err != nil || next == "" {
			return err
		}
		seen[sum] = true
		cursor = next
	}
	return fmt.Errorf("%s: more than %d pages; stopping", step, maxPages)
}

// each calls do for every index from 0 to n-1 with at most workers calls at
// a time. After the first error no new call starts (those under way
// finish), and that error is returned; so is the context's error if it
// ended first.
func each(ctx context.Context, n, workers int, do func(ctx context.Context, i int) error) error {
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	slots := make(chan struct{}, max(1, workers))
	for i := range n {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil || failed() {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := do(ctx, i); err != nil {
				mu.Lock()
				firstErr = cmp.Or(firstErr, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return cmp.Or(firstErr, ctx.Err())
}
