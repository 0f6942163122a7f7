// Package dashboard serves the DORA, pull-request and work item figures of
// a workspace: the JSON and CSV API under /api/v1/metrics, the dashboard
// page with its SVG charts, and a server-sent event stream that tells open
// pages when the workspace's data changed.
//
// Figures come from metrics.Analyze over the whole workspace, read once and
// cached per workspace. Each request asks the store for a cheap data
// version; only when it moved is the data read again, and then only the
// kinds of rows (commits, pull requests, deployments, work items) whose
// fingerprint changed.
package dashboard

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/csvexport"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/metrics"
)

// Config tunes the handlers; zero values take the defaults.
type Config struct {
	Logger *slog.Logger
	// BackfillDays is how far before an integration was created its backfill
	// reaches (PANDEV_BACKFILL_DAYS): the first deployment of an environment
	// gets only commits authored from then on. Default 30.
	BackfillDays int
	// PollInterval is how often the event stream checks the data version of
	// each workspace with a connected page. Default 1 s.
	PollInterval time.Duration
	// FreshWait is how long a request waits for the figures of newer data
	// before it is answered from the last ones built. Default 2 s, the
	// dashboard's freshness promise: small organizations rebuild in
	// milliseconds and never see old figures.
	FreshWait time.Duration
}

// Handlers serves the metrics API, the dashboard page and its events.
type Handlers struct {
	cache  *cache
	now    func() time.Time
	logger *slog.Logger
	hub    *hub
}

// New returns the handlers over db with the clock now.
func New(db Reader, now func() time.Time, cfg Config) *Handlers {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.BackfillDays <= 0 {
		cfg.BackfillDays = 30
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.FreshWait <= 0 {
		cfg.FreshWait = 2 * time.Second
	}
	c := newCache(db, now, cfg.Logger, cfg.BackfillDays, cfg.FreshWait)
	return &Handlers{cache: c, now: now, logger: cfg.Logger, hub: newHub(c, cfg.PollInterval, cfg.Logger)}
}

// Warm builds the figures of the workspaces in the background, so that
// the first dashboard after a start does not wait for them: at the large
// profile a start analyzes a million commits (about 20 s).
func (h *Handlers) Warm(workspaceIDs []string) {
	go func() {
		for _, ws := range workspaceIDs {
			if _, err := h.cache.Get(h.cache.base, ws); err != nil && h.cache.base.Err() == nil {
				h.logger.Warn("dashboard: warming the figures failed", "workspace", ws, "err", err)
			}
		}
	}()
}

// Close stops the event pollers and running builds; open event streams end.
func (h *Handlers) Close() {
	h.hub.close()
	h.cache.close()
}

// Snapshot returns the workspace's current analyzed data (for tests and
// benchmarks, and for other packages that want the same figures).
func (h *Handlers) Snapshot(r *http.Request) (*Snapshot, error) {
	ws, err := workspaceOf(r)
	if err != nil {
		return nil, err
	}
	return h.cache.Get(r.Context(), ws)
}

func workspaceOf(r *http.Request) (string, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok || p.WorkspaceID() == "" {
		return "", delivery.Errorf(delivery.KindUnauthorized, "sign in to see metrics")
	}
	return p.WorkspaceID(), nil
}

// request parses the caller's workspace snapshot and query.
func (h *Handlers) request(r *http.Request, allowed ...string) (*Snapshot, query, error) {
	snap, err := h.Snapshot(r)
	if err != nil {
		return nil, query{}, err
	}
	q, err := parseQuery(r.URL.Query(), h.now(), snap.Scopes, snap.Teams, append(allowed, "view", "format")...)
	if err != nil {
		return nil, q, err
	}
	if f := r.URL.Query().Get("format"); f != "" && f != "csv" && f != "json" {
		return nil, q, delivery.Errorf(delivery.KindInvalid, "format %q is not csv or json", f).
			WithHint("use format=csv or format=json, or send Accept: text/csv")
	}
	return snap, q, nil
}

// respond writes report as JSON, or one of its table views (view=...) as
// JSON items or, with Accept: text/csv or format=csv, as CSV. Without a
// view, CSV is the summary table.
func respond(w http.ResponseWriter, r *http.Request, q query, report any, views map[string]func() table, summary string) error {
	wantCSV := strings.Contains(r.Header.Get("Accept"), "text/csv") || r.URL.Query().Get("format") == "csv"
	view := q.View
	if view == "" && !wantCSV {
		return writeJSON(w, report)
	}
	if view == "" {
		view = summary
	}
	build, ok := views[view]
	if !ok {
		names := make([]string, 0, len(views))
		for n := range views {
			names = append(names, n)
		}
		slices.Sort(names)
		return delivery.Errorf(delivery.KindInvalid, "view %q is not a table of this endpoint", view).
			WithHint("use view=" + strings.Join(names, ", view="))
	}
	t := build()
	if wantCSV {
		return writeCSV(w, t)
	}
	items := t.Items
	if items == nil {
		items = []any{}
	}
	return writeJSON(w, struct {
		DefinitionVersion string     `json:"definition_version"`
		View              string     `json:"view"`
		Window            WindowJSON `json:"window"`
		Items             []any      `json:"items"`
	}{metrics.Version, view, windowJSON(q.Window), items})
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(v)
}

func writeCSV(w http.ResponseWriter, t table) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, t.Name))
	cw := csvexport.NewWriter(w) // formula cells neutralized
	_ = cw.Write(t.Columns)
	_ = cw.WriteAll(t.Rows) // flushes; a write error means the client went away
	return nil
}

// DORA answers GET /api/v1/metrics/dora: the four keys with trend against
// the previous window of the same length. Views: summary (CSV default),
// deployments, lead-time, failures, incidents.
func (h *Handlers) DORA(w http.ResponseWriter, r *http.Request) error {
	snap, q, err := h.request(r)
	if err != nil {
		return err
	}
	a, win := snap.Set, q.Window
	report := doraReport(a, win)
	report.withSources(a, win, snap.Scopes)
	return respond(w, r, q, report, map[string]func() table{
		"summary":     func() table { return doraSummaryTable(report) },
		"deployments": func() table { return deploymentsTable(a, win, snap.names()) },
		"lead-time":   func() table { return leadTimeTable(a, win, snap.names()) },
		"failures":    func() table { return failuresTable(a, win, snap.names()) },
		"incidents":   func() table { return incidentsTable(a, win, snap.names()) },
	}, "summary")
}

// PullRequests answers GET /api/v1/metrics/pull-requests: the flow of PRs
// merged in the window. Views: summary (CSV default), pull-requests.
func (h *Handlers) PullRequests(w http.ResponseWriter, r *http.Request) error {
	snap, q, err := h.request(r)
	if err != nil {
		return err
	}
	a, win := snap.Set, q.Window
	report := pullRequestReport(a, win)
	report.withSources(a, win, snap.Scopes)
	return respond(w, r, q, report, map[string]func() table{
		"summary":       func() table { return pullRequestSummaryTable(report) },
		"pull-requests": func() table { return pullRequestsTable(a, win, snap.names()) },
	}, "summary")
}

// WorkItems answers GET /api/v1/metrics/work-items: work item lead time,
// optionally narrowed by area (an area path and everything below it) and
// type (repeatable). Views: summary (CSV default), items.
func (h *Handlers) WorkItems(w http.ResponseWriter, r *http.Request) error {
	snap, q, err := h.request(r, "area", "type")
	if err != nil {
		return err
	}
	a, win, f := snap.Set, q.Window, workItemFilter(r)
	report := workItemReport(a, win, f)
	return respond(w, r, q, report, map[string]func() table{
		"summary": func() table { return workItemSummaryTable(report) },
		"items":   func() table { return workItemsTable(a, win, f) },
	}, "summary")
}

func workItemFilter(r *http.Request) metrics.WorkItemFilter {
	v := r.URL.Query()
	return metrics.WorkItemFilter{AreaPath: v.Get("area"), Types: v["type"]}
}

// SeriesKinds are the {kind} values of the series route.
var SeriesKinds = []string{"dora", "pull-requests", "work-items"}

// Series answers GET /api/v1/metrics/{kind}/series?interval=day|week for
// kind dora, pull-requests or work-items. The kind comes from the route's
// {kind} wildcard, or from the path when the route names it literally.
func (h *Handlers) Series(w http.ResponseWriter, r *http.Request) error {
	kind := r.PathValue("kind")
	if kind == "" {
		kind = strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/metrics/"), "/series")
	}
	if !slices.Contains(SeriesKinds, kind) {
		return delivery.Errorf(delivery.KindNotFound, "there is no series of %q", kind).
			WithHint("use /api/v1/metrics/dora/series, /api/v1/metrics/pull-requests/series or /api/v1/metrics/work-items/series")
	}
	allowed := []string{"interval"}
	if kind == "work-items" {
		allowed = append(allowed, "area", "type")
	}
	snap, q, err := h.request(r, allowed...)
	if err != nil {
		return err
	}
	report := seriesReport(snap.Set, kind, q.Window, q.Interval, workItemFilter(r))
	return respond(w, r, q, report, map[string]func() table{"points": func() table { return seriesTable(report) }}, "points")
}
