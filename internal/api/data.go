package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/csvexport"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// The collected-data endpoints list what was stored, for inspection and
// export. Windows select commits by author date, pull requests by creation,
// runs and deployments by finish, work items by last change — the same
// rules as the simulator's ground truth, so the two compare directly.

// MaxPageSize bounds ?limit=.
const MaxPageSize = 1000

// csvPageSize is how many rows a CSV export reads at a time.
const csvPageSize = 1000

// dataset is one collected-data endpoint: how to list a page, and how to
// show a row as JSON and as CSV.
type dataset[T any] struct {
	list    func(ctx context.Context, f store.Filter) ([]T, error)
	cursor  func(T) store.Cursor
	json    func(T) any
	columns []string
	csv     func(T) []string
}

// Page is a JSON page of a list.
type Page struct {
	Items      []any  `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func serveDataset[T any](d dataset[T], w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilter(r)
	if err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "text/csv") {
		return streamCSV(d, f, w, r)
	}
	rows, err := d.list(r.Context(), f)
	if err != nil {
		return err
	}
	page := Page{Items: make([]any, 0, len(rows))}
	for _, row := range rows {
		page.Items = append(page.Items, d.json(row))
	}
	if len(rows) == f.Limit {
		page.NextCursor = encodeCursor(d.cursor(rows[len(rows)-1]))
	}
	return write(w, http.StatusOK, page)
}

// streamCSV writes every matching row, a page at a time, so an export of
// any size uses constant memory.
func streamCSV[T any](d dataset[T], f store.Filter, w http.ResponseWriter, r *http.Request) error {
	f.Limit = csvPageSize
	rows, err := d.list(r.Context(), f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csvexport.NewWriter(w)
	if err := cw.Write(d.columns); err != nil {
		return nil // the client went away
	}
	for len(rows) > 0 {
		for _, row := range rows {
			if err := cw.Write(d.csv(row)); err != nil {
				return nil
			}
		}
		if len(rows) < f.Limit {
			break
		}
		f.After = ptr(d.cursor(rows[len(rows)-1]))
		if rows, err = d.list(r.Context(), f); err != nil {
			cw.Flush()
			return nil // headers are sent; the truncated file is the signal
		}
	}
	cw.Flush()
	return nil
}

func ptr[T any](v T) *T { return &v }

// parseFilter reads ?from=&to=&project=&repository=&limit=&cursor=.
func parseFilter(r *http.Request) (store.Filter, error) {
	q := r.URL.Query()
	f := store.Filter{WorkspaceID: principal(r).WorkspaceID(), ProjectID: q.Get("project"), RepoID: q.Get("repository"), Limit: 100}
	var err error
	if f.From, err = delivery.ParseTimeParam("from", q.Get("from")); err != nil {
		return f, err
	}
	if f.To, err = delivery.ParseTimeParam("to", q.Get("to")); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, delivery.Errorf(delivery.KindInvalid, "from must be before to").WithHint("the window is [from, to)")
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageSize {
			return f, delivery.Errorf(delivery.KindInvalid, "limit %q is not a number from 1 to %d", s, MaxPageSize).WithHint("omit it for 100")
		}
		f.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		c, err := decodeCursor(s)
		if err != nil {
			return f, delivery.Errorf(delivery.KindInvalid, "cursor is not one this server gave out").WithHint("pass next_cursor from the previous page unchanged")
		}
		f.After = &c
	}
	return f, nil
}

type cursorJSON struct {
	T time.Time `json:"t"`
	K string    `json:"k,omitempty"`
	N int64     `json:"n,omitempty"`
}

func encodeCursor(c store.Cursor) string {
	b, _ := json.Marshal(cursorJSON{T: c.Time, K: c.Key, N: c.Num})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (store.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.Cursor{}, err
	}
	var c cursorJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return store.Cursor{}, err
	}
	return store.Cursor{Time: c.T, Key: c.K, Num: c.N}, nil
}

func formatTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
