package azdo

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"reflect"
	"strconv"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// continuationHeader carries the next page's token (PROTOCOL §5).
const continuationHeader = "X-MS-ContinuationToken"

// DefaultPageSize is the $top sent when a query does not set one. The spec
// documents no maxima; 100 is what DevLake uses everywhere.
const DefaultPageSize = 100

// silentlyCapped are the lists whose $top the service caps without saying
// so (see walkTopSkip), by endpoint name.
var silentlyCapped = map[string]bool{epPullRequests.name: true}

// pageFunc receives one page of items. Returning an error stops paging and
// is returned as is.
type pageFunc[T any] func(items []T) error

// walkTopSkip pages with $top/$skip. Projects also send a continuation
// token (an offset); when present it is followed instead of computing the
// next $skip.
//
// A page shorter than $top does not end the walk by itself: the service
// caps $top silently (the pull request lists answer at most 1000 items
// whatever $top asks, and 101 without it: MicrosoftDocs/vsts-rest-api-specs
// #405 and #539, rfennell/AzurePipelines#843), and other lists may too. The
// rule: the first non-empty page's length is the page size the service
// honours (top itself, or its cap); the walk ends at an empty page or at a
// page shorter than that size. It cannot end early, since every page but
// the last of a list has exactly the honoured size, and it costs at most
// one call more than a walk that knew the cap: only when the first page is
// shorter than top, one more page tells a cap (a full page) from the end
// (an empty one). That extra call is made only for the lists known to cap
// (silentlyCapped); on the others a short first page is the whole list,
// which keeps a quiet reconciliation at one call per list. A page equal to
// the one before (a server that ignores $skip) ends the walk too, rather
// than looping.
func walkTopSkip[T any](ctx context.Context, c *Client, r call, topKey, skipKey string, top, skip int, fn pageFunc[T]) error {
	if top <= 0 {
		top = DefaultPageSize
	}
	token := ""
	honoured := 0 // items per page the service returns; 0 until a page had some
	var prev []T
	for {
		rr := r
		rr.query = cloneValues(r.query)
		rr.query.Set(topKey, strconv.Itoa(top))
		switch {
		case token != "":
			rr.query.Set("continuationToken", token)
		case skip > 0:
			rr.query.Set(skipKey, strconv.Itoa(skip))
		}
		var l listOf[T]
		res, err := c.send(ctx, &rr, &l)
		if err != nil {
			return err
		}
		n := len(l.Value)
		if n > 0 && prev != nil && reflect.DeepEqual(l.Value, prev) {
			return nil // the same page again: the server ignored $skip
		}
		if n > 0 {
			if err := fn(l.Value); err != nil {
				return err
			}
		}
		next := res.header.Get(continuationHeader)
		switch {
		case next != "" && next != token:
			token = next
			continue
		case next != "" || token != "":
			return nil // the same token again, or the last page of a token walk
		case n == 0 || n < honoured:
			return nil
		case honoured == 0 && n < top && !silentlyCapped[r.ep.name]:
			return nil // a short first page of a list that honours $top: all of it
		case honoured == 0:
			honoured = n
		}
		skip += n
		token = ""
		prev = l.Value
	}
}

// walkContinuation pages with a page size and the x-ms-continuationtoken
// response header, sent back as continuationToken. It stops when no token
// comes back; a list that is not paged at all is simply one page.
func walkContinuation[T any](ctx context.Context, c *Client, r call, topKey string, top int, token string, fn pageFunc[T]) error {
	for {
		rr := r
		rr.query = cloneValues(r.query)
		if topKey != "" && top > 0 {
			rr.query.Set(topKey, strconv.Itoa(top))
		}
		if token != "" {
			rr.query.Set("continuationToken", token)
		}
		var l listOf[T]
		res, err := c.send(ctx, &rr, &l)
		if err != nil {
			return err
		}
		if len(l.Value) > 0 {
			if err := fn(l.Value); err != nil {
				return err
			}
		}
		next := res.header.Get(continuationHeader)
		if next == "" {
			return nil
		}
		if next == token {
			return &delivery.Error{Kind: delivery.KindUpstream,
				Message: fmt.Sprintf("Azure DevOps repeated the same continuation token while %s", r.ep.what),
				Err:     fmt.Errorf("continuation token %q repeated", next)}
		}
		token = next
	}
}

// getList fetches an unpaged {count, value} list.
func getList[T any](ctx context.Context, c *Client, r call) ([]T, error) {
	var l listOf[T]
	if _, err := c.send(ctx, &r, &l); err != nil {
		return nil, err
	}
	return l.Value, nil
}

// errStopIteration ends a walk when the range loop breaks.
var errStopIteration = errors.New("azdo: iteration stopped")

// items turns a page walk into an iterator of items. A failed page yields
// its error once and ends the iteration.
func items[T any](walk func(fn pageFunc[T]) error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		err := walk(func(page []T) error {
			for _, it := range page {
				if !yield(it, nil) {
					return errStopIteration
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopIteration) {
			var zero T
			yield(zero, err)
		}
	}
}

// Collect drains an iterator into a slice, stopping at the first error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// seg escapes one path segment (a project or repository name may contain
// spaces or slashes).
func seg(s string) string { return url.PathEscape(s) }
