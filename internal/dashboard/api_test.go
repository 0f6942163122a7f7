package dashboard

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/metrics"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

const window = "from=2026-11-02&to=2026-11-16"

func clock() time.Time { return now }

func hours(h float64) float64 { return h * 3600 }

func decodeJSON[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

func wantFloat(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got null, want %v", what, want)
	} else if d := *got - want; d > 1e-9 || d < -1e-9 {
		t.Errorf("%s: got %v, want %v", what, *got, want)
	}
}

func wantBand(t *testing.T, what string, got *string, want string) {
	t.Helper()
	if got == nil || *got != want {
		t.Errorf("%s band: got %v, want %s", what, got, want)
	}
}

func TestDORA(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, "acme")
		scenario(t, w)
		other := newWorld(t, db, "other")
		h := New(db, clock, Config{})
		defer h.Close()

		rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+window)
		must(t, err)
		r := decodeJSON[DORAReport](t, rec.Body.String())
		if r.DefinitionVersion != metrics.Version || r.BandYear != 2023 {
			t.Errorf("meta: %q %d", r.DefinitionVersion, r.BandYear)
		}
		f := r.DeploymentFrequency
		if f.N != 4 || f.DeployDays != 4 || f.DefinitionVersion != metrics.Version {
			t.Errorf("frequency: %+v", f)
		}
		wantFloat(t, "per week", f.Value, 2)
		wantFloat(t, "weekly deploy days", f.Median, 2)
		wantBand(t, "frequency", f.Band, "high")
		if f.Previous == nil || f.Previous.N != 1 || f.Previous.Direction != "better" {
			t.Errorf("frequency trend: %+v", f.Previous)
		}
		wantFloat(t, "frequency change", f.Previous.Change, 1.5)

		if r.LeadTime.N != 2 || r.LeadTime.Clamped != 0 {
			t.Errorf("lead time: %+v", r.LeadTime)
		}
		wantFloat(t, "lead time median", r.LeadTime.Median, hours(25.25))
		wantFloat(t, "lead time p90", r.LeadTime.P90, hours(0.5+0.9*49.5))
		wantBand(t, "lead time", r.LeadTime.Band, "high")

		c := r.ChangeFailureRate
		if c.N != 5 || c.Failures != 2 || c.Failed != 1 || c.WithIncident != 1 {
			t.Errorf("cfr: %+v", c)
		}
		wantFloat(t, "cfr", c.Value, 0.4)
		wantBand(t, "cfr", c.Band, "low")

		if r.Recovery.N != 2 || r.Recovery.Open != 0 {
			t.Errorf("recovery: %+v", r.Recovery)
		}
		wantFloat(t, "recovery", r.Recovery.Median, hours(5))
		wantBand(t, "recovery", r.Recovery.Band, "high")
		if r.UnattributedIncidents != 1 {
			t.Errorf("unattributed: %d", r.UnattributedIncidents)
		}

		// Another workspace sees none of it: no data, never zeros.
		rec, err = request(t, h.DORA, other, "/api/v1/metrics/dora?"+window)
		must(t, err)
		if !strings.Contains(rec.Body.String(), `"lead_time":{"n":0,"no_data":true,"unit":"seconds","value":null,"median":null`) {
			t.Errorf("other workspace: %s", rec.Body.String())
		}
	})
}

func TestFilters(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w, h := servedScenario(t, db)
		defer h.Close()
		cases := []struct {
			name           string
			query          string
			deployments    int
			leadTimeN      int
			cfr            *float64
			unattributed   int
			leadTimeNoData bool
		}{
			{"all", window, 4, 2, ptr(0.4), 1, false},
			{"project by id", window + "&project=p1", 3, 2, ptr(0.5), 0, false},
			{"project by name, any case", window + "&project=shop", 3, 2, ptr(0.5), 0, false},
			{"repository by name", window + "&repository=api", 1, 0, ptr(0.0), 1, true},
			{"project and its repository", window + "&project=Ops&repository=r2", 1, 0, ptr(0.0), 1, true},
			{"window without deployments", "from=2026-12-01&to=2026-12-08", 0, 0, nil, 0, true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+c.query)
				must(t, err)
				r := decodeJSON[DORAReport](t, rec.Body.String())
				if r.DeploymentFrequency.N != c.deployments || r.LeadTime.N != c.leadTimeN || r.LeadTime.NoData != c.leadTimeNoData {
					t.Errorf("frequency %d lead %d (no data %v)", r.DeploymentFrequency.N, r.LeadTime.N, r.LeadTime.NoData)
				}
				if c.cfr == nil {
					if r.ChangeFailureRate.Value != nil || !r.ChangeFailureRate.NoData || r.ChangeFailureRate.Band != nil {
						t.Errorf("cfr must be no data: %+v", r.ChangeFailureRate)
					}
				} else {
					wantFloat(t, "cfr", r.ChangeFailureRate.Value, *c.cfr)
				}
				if r.LeadTime.NoData && (r.LeadTime.Median != nil || r.LeadTime.Band != nil) {
					t.Errorf("no data must be null: %+v", r.LeadTime)
				}
				if r.UnattributedIncidents != c.unattributed {
					t.Errorf("unattributed %d, want %d", r.UnattributedIncidents, c.unattributed)
				}
			})
		}
	})
}

func TestBadParameters(t *testing.T) {
	db := storetest.OpenSQLite(t)
	w := newWorld(t, db, "acme")
	h := New(db, clock, Config{})
	defer h.Close()
	cases := []struct {
		name, target string
		handler      func(http.ResponseWriter, *http.Request) error
		kind         delivery.Kind
		mentions     string
	}{
		{"from not a date", "/api/v1/metrics/dora?from=yesterday", h.DORA, delivery.KindInvalid, `from "yesterday"`},
		{"to not a date", "/api/v1/metrics/pull-requests?to=2026-13-01", h.PullRequests, delivery.KindInvalid, `to "2026-13-01"`},
		{"from after to", "/api/v1/metrics/dora?from=2026-11-10&to=2026-11-01", h.DORA, delivery.KindInvalid, "from"},
		{"window too long", "/api/v1/metrics/dora?from=2020-01-01&to=2026-01-01", h.DORA, delivery.KindInvalid, "two years"},
		// The zero time means "unset": given explicitly it must not widen
		// the window past its limit or fall back silently.
		{"from the zero time", "/api/v1/metrics/dora?from=0001-01-01&to=2026-11-16", h.DORA, delivery.KindInvalid, `from "0001-01-01"`},
		{"to the zero time", "/api/v1/metrics/dora?to=0001-01-01T00:00:00Z", h.DORA, delivery.KindInvalid, `to "0001-01-01T00:00:00Z"`},
		{"unknown project", "/api/v1/metrics/dora?project=nope", h.DORA, delivery.KindInvalid, `project "nope"`},
		{"unknown repository", "/api/v1/metrics/work-items?repository=nope", h.WorkItems, delivery.KindInvalid, `repository "nope"`},
		{"repository of another project", "/api/v1/metrics/dora?project=p1&repository=api", h.DORA, delivery.KindInvalid, `repository "api"`},
		{"unknown parameter", "/api/v1/metrics/dora?repo=web", h.DORA, delivery.KindInvalid, `parameter "repo"`},
		{"interval on a non-series", "/api/v1/metrics/dora?interval=day", h.DORA, delivery.KindInvalid, `parameter "interval"`},
		{"bad interval", "/api/v1/metrics/dora/series?interval=hour", h.Series, delivery.KindInvalid, `interval "hour"`},
		{"day series too long", "/api/v1/metrics/dora/series?interval=day&from=2025-01-01&to=2026-11-01", h.Series, delivery.KindInvalid, "interval=day"},
		{"unknown series", "/api/v1/metrics/commits/series", h.Series, delivery.KindNotFound, `"commits"`},
		{"unknown view", "/api/v1/metrics/dora?view=everything", h.DORA, delivery.KindInvalid, `view "everything"`},
		{"bad format", "/api/v1/metrics/dora?format=xml", h.DORA, delivery.KindInvalid, `format "xml"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := request(t, c.handler, w, c.target)
			if delivery.KindOf(err) != c.kind {
				t.Fatalf("err = %v, want kind %s", err, c.kind)
			}
			var de *delivery.Error
			if !strings.Contains(err.Error(), c.mentions) || !errorsAs(err, &de) || de.Hint == "" {
				t.Fatalf("err = %v: want it to mention %s and carry a hint", err, c.mentions)
			}
		})
	}
}

func errorsAs(err error, de **delivery.Error) bool {
	e, ok := err.(*delivery.Error)
	*de = e
	return ok
}

func TestPullRequestsAndWorkItems(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w, h := servedScenario(t, db)
		defer h.Close()
		rec, err := request(t, h.PullRequests, w, "/api/v1/metrics/pull-requests?"+window)
		must(t, err)
		r := decodeJSON[PullRequestReport](t, rec.Body.String())
		if r.Merged != 1 || r.MergedWithoutReview != 0 || r.Cycle.N != 1 {
			t.Fatalf("flow: %s", rec.Body.String())
		}
		for name, c := range map[string]struct {
			f    Figure
			want float64
		}{"coding": {r.Coding, 1}, "pickup": {r.Pickup, 2}, "review": {r.Review, 23}, "deploy": {r.Deploy, 24}, "cycle": {r.Cycle, 26}} {
			wantFloat(t, name, c.f.Median, hours(c.want))
		}
		wantFloat(t, "size", r.Size.Median, 2)

		rec, err = request(t, h.WorkItems, w, "/api/v1/metrics/work-items?"+window)
		must(t, err)
		wi := decodeJSON[WorkItemReport](t, rec.Body.String())
		if wi.LeadTime.N != 0 || !wi.LeadTime.NoData || wi.LeadTime.DefinitionVersion != metrics.Version {
			t.Errorf("work items without links: %+v", wi.LeadTime)
		}
		// Link incident 100 to the merge commit: it was deployed by d2.
		must(t, db.AddWorkItemLink(bg, store.WorkItemLink{Key: w.key, WorkItemID: 100, TargetKind: "commit", TargetID: "r1:m1", Origin: "mention"}))
		w.processed(t, "link")
		rec, err = request(t, h.WorkItems, w, "/api/v1/metrics/work-items?"+window+"&type=bug")
		must(t, err)
		wi = decodeJSON[WorkItemReport](t, rec.Body.String())
		if wi.LeadTime.N != 1 {
			t.Fatalf("linked work item: %s", rec.Body.String())
		}
		// Created 5 Nov 18:00, deployed by d2 at 12:00: clamped to 0.
		if wi.LeadTime.Clamped != 1 || *wi.LeadTime.Median != 0 {
			t.Errorf("clamped lead time: %+v", wi.LeadTime)
		}
	})
}

func TestViewsAndCSV(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w, h := servedScenario(t, db)
		defer h.Close()
		csvOf := func(target string, hf func(http.ResponseWriter, *http.Request) error) [][]string {
			t.Helper()
			rec, err := request(t, hf, w, target, "Accept", "text/csv")
			must(t, err)
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Fatalf("%s: content type %q", target, ct)
			}
			rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
			must(t, err)
			return rows
		}
		cases := []struct {
			target  string
			h       func(http.ResponseWriter, *http.Request) error
			header  string
			rows    int
			firstID string
		}{
			{"/api/v1/metrics/dora?" + window, h.DORA, "metric", 4, "deployment_frequency"},
			{"/api/v1/metrics/dora?view=deployments&" + window, h.DORA, "id", 5, "d5"},
			{"/api/v1/metrics/dora?view=lead-time&" + window, h.DORA, "pull_request", 2, "1"},
			{"/api/v1/metrics/dora?view=failures&" + window, h.DORA, "deployment", 2, "d2"},
			{"/api/v1/metrics/dora?view=incidents&" + window, h.DORA, "work_item", 2, "101"},
			{"/api/v1/metrics/pull-requests?" + window, h.PullRequests, "metric", 10, "coding"},
			{"/api/v1/metrics/pull-requests?view=pull-requests&" + window, h.PullRequests, "id", 1, "1"},
			{"/api/v1/metrics/work-items?view=items&" + window, h.WorkItems, "id", 0, ""},
			{"/api/v1/metrics/dora/series?interval=week&" + window, h.Series, "start", 2, "2026-11-02T00:00:00Z"},
			{"/api/v1/metrics/pull-requests/series?interval=day&" + window, h.Series, "start", 14, "2026-11-02T00:00:00Z"},
			{"/api/v1/metrics/work-items/series?" + window, h.Series, "start", 2, "2026-11-02T00:00:00Z"},
		}
		for _, c := range cases {
			rows := csvOf(c.target, c.h)
			if rows[0][0] != c.header || len(rows)-1 != c.rows {
				t.Errorf("%s: header %v, %d rows, want %s and %d", c.target, rows[0], len(rows)-1, c.header, c.rows)
				continue
			}
			if c.rows > 0 && rows[1][0] != c.firstID {
				t.Errorf("%s: first row %v, want %s", c.target, rows[1], c.firstID)
			}
		}
		// The same table as JSON items, and format=csv for links.
		rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?view=incidents&"+window)
		must(t, err)
		inc := decodeJSON[struct {
			View  string        `json:"view"`
			Items []IncidentRow `json:"items"`
		}](t, rec.Body.String())
		if inc.View != "incidents" || len(inc.Items) != 2 || inc.Items[0].Reason != string(metrics.ReasonOutsideWindow) {
			t.Errorf("incidents: %s", rec.Body.String())
		}
		rec, err = request(t, h.DORA, w, "/api/v1/metrics/dora?format=csv&view=deployments&"+window)
		must(t, err)
		if !strings.HasPrefix(rec.Body.String(), "id,project,repository") {
			t.Errorf("format=csv: %s", rec.Body.String())
		}
		// Series points per week.
		rec, err = request(t, h.Series, w, "/api/v1/metrics/dora/series?"+window)
		must(t, err)
		s := decodeJSON[SeriesReport](t, rec.Body.String())
		if len(s.Points) != 2 || *s.Points[0].Deployments != 3 || *s.Points[1].Deployments != 1 || s.Interval != "week" {
			t.Errorf("series: %s", rec.Body.String())
		}
	})
}

// countingReader counts the projects and the repositories read, to see
// what the cache re-reads.
type countingReader struct {
	*store.DB
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingReader) ProjectRepositories(ctx context.Context, ws, project string) ([]string, error) {
	c.count(project)
	return c.DB.ProjectRepositories(ctx, ws, project)
}

func (c *countingReader) EachCommit(ctx context.Context, ws, project, repo string, fn func(store.GraphCommit) error) error {
	c.count(repo)
	return c.DB.EachCommit(ctx, ws, project, repo, fn)
}

func (c *countingReader) count(what string) {
	c.mu.Lock()
	c.reads[what]++
	c.mu.Unlock()
}

// servedScenario is the scenario of workspace "acme" and its handlers.
func servedScenario(t testing.TB, db *store.DB) (world, *Handlers) {
	t.Helper()
	w := newWorld(t, db, "acme")
	scenario(t, w)
	return w, New(db, clock, Config{})
}

// countedScenario is the scenario with a second repository in p1, served
// through a countingReader.
func countedScenario(t testing.TB, db *store.DB) (world, *countingReader, *Handlers) {
	t.Helper()
	w := newWorld(t, db, "acme")
	scenario(t, w)
	w.commit(t, "r3", "p1", "e1", at(3, 9)) // p1's second repository
	cr := &countingReader{DB: db, reads: map[string]int{}}
	return w, cr, New(cr, clock, Config{})
}

func (c *countingReader) got() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("p1:%d p2:%d r1:%d r3:%d", c.reads["p1"], c.reads["p2"], c.reads["r1"], c.reads["r3"])
}

func TestCacheRereadsOnlyWhatChanged(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w, cr, h := countedScenario(t, db)
		defer h.Close()
		get := func() DORAReport {
			rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+window)
			must(t, err)
			return decodeJSON[DORAReport](t, rec.Body.String())
		}
		expect := func(what, want string) {
			t.Helper()
			if got := cr.got(); got != want {
				t.Fatalf("%s: reads %s, want %s", what, got, want)
			}
		}
		get()
		expect("first request reads every project and repository once", "p1:1 p2:1 r1:1 r3:1")
		get()
		expect("unchanged data is not read again", "p1:1 p2:1 r1:1 r3:1")
		w.deploy(t, "d6", "p1", "r1", "prod", "succeeded", "m1", at(12, 9))
		if r := get(); r.DeploymentFrequency.N != 5 {
			t.Fatalf("new deployment not counted: %d", r.DeploymentFrequency.N)
		}
		expect("a deployment re-reads its repository only", "p1:2 p2:1 r1:2 r3:1")
		w.commit(t, "r3", "p1", "e2", at(12, 10), "e1")
		w.processed(t, "push-r3")
		get()
		expect("a commit re-reads its repository only", "p1:3 p2:1 r1:2 r3:2")
		// The figures with r1's analysis kept are those of a fresh server.
		fresh := New(db, clock, Config{})
		defer fresh.Close()
		type handler = func(http.ResponseWriter, *http.Request) error
		for _, c := range []struct {
			target string
			of     func(*Handlers) handler
		}{
			{"/api/v1/metrics/dora?" + window, func(h *Handlers) handler { return h.DORA }},
			{"/api/v1/metrics/dora?view=lead-time&" + window, func(h *Handlers) handler { return h.DORA }},
			{"/api/v1/metrics/pull-requests?" + window, func(h *Handlers) handler { return h.PullRequests }},
			{"/api/v1/metrics/work-items?view=items&" + window, func(h *Handlers) handler { return h.WorkItems }},
		} {
			target, handler := c.target, c.of
			kept, err := request(t, handler(h), w, target)
			must(t, err)
			anew, err := request(t, handler(fresh), w, target)
			must(t, err)
			if kept.Body.String() != anew.Body.String() {
				t.Errorf("%s with a kept repository:\n%s\nfresh:\n%s", target, kept.Body, anew.Body)
			}
		}
		// A processed event that changed nothing moves the version, not the parts.
		_, err := db.InsertInboxEvent(bg, store.InboxEvent{Key: w.key, EventID: "e1", EventType: "x", Payload: "{}", ReceivedAt: now})
		must(t, err)
		must(t, db.MarkInboxEvent(bg, w.key.IntegrationID, "e1", "ignored", "", now))
		get()
		expect("an ignored event re-reads nothing", "p1:3 p2:1 r1:2 r3:2")
		w.commit(t, "r2", "p2", "c9", at(12, 8))
		w.processed(t, "push")
		get()
		expect("a commit re-reads its project only", "p1:3 p2:2 r1:2 r3:2")
		must(t, db.MarkIntegrationSynced(bg, w.key.IntegrationID, now))
		get()
		expect("a sync that stored nothing re-reads nothing", "p1:3 p2:2 r1:2 r3:2")
		_, err = db.UpsertWorkItem(bg, store.WorkItem{Key: w.key, WorkItemID: 901, ProjectID: "p1", Rev: 1, Type: "Bug",
			Title: "Typo", CreatedAt: at(12, 11), ChangedAt: at(12, 11)})
		must(t, err)
		w.processed(t, "work-item")
		get()
		expect("a work item re-reads its project's repositories", "p1:4 p2:2 r1:3 r3:3")
		must(t, db.UpdateIntegrationSettings(bg, w.key.WorkspaceID, w.key.IntegrationID, `{}`, now.Add(time.Minute)))
		get()
		expect("a settings change (rules) re-reads everything", "p1:5 p2:3 r1:4 r3:4")
	})
}

// gatedReader holds the reads of a project while its gate is set.
type gatedReader struct {
	*store.DB
	mu   sync.Mutex
	gate chan struct{} // reads of p2 wait for it to close
}

func (g *gatedReader) EachCommit(ctx context.Context, ws, project, repo string, fn func(store.GraphCommit) error) error {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil && project == "p2" {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.DB.EachCommit(ctx, ws, project, repo, fn)
}

// TestSlowRebuildAnswersFromLastFigures: while a project's re-read is
// slow, requests wait at most FreshWait and get the last figures; once the
// rebuild ends they get the new ones, and the event stream announces them.
func TestSlowRebuildAnswersFromLastFigures(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, "acme")
		scenario(t, w)
		g := &gatedReader{DB: db}
		h := New(g, clock, Config{FreshWait: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond})
		defer h.Close()
		get := func() DORAReport {
			rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+window)
			must(t, err)
			return decodeJSON[DORAReport](t, rec.Body.String())
		}
		before := get().DeploymentFrequency.N
		gate := make(chan struct{})
		g.mu.Lock()
		g.gate = gate
		g.mu.Unlock()
		w.deploy(t, "d7", "p2", "r2", "prod", "succeeded", "x1", at(12, 9))
		start := time.Now()
		if n := get().DeploymentFrequency.N; n != before {
			t.Fatalf("during the rebuild: %d deployments, want the last figures' %d", n, before)
		}
		if waited := time.Since(start); waited > 5*time.Second {
			t.Fatalf("a request waited %v for a blocked rebuild", waited)
		}
		close(gate)
		deadline := time.Now().Add(10 * time.Second)
		for get().DeploymentFrequency.N != before+1 {
			if time.Now().After(deadline) {
				t.Fatal("the new deployment never showed after the rebuild")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestWarmBuildsBeforeTheFirstRequest: Warm analyzes a workspace in the
// background; the first request then reads nothing.
func TestWarmBuildsBeforeTheFirstRequest(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w, cr, h := countedScenario(t, db)
		defer h.Close()
		h.Warm([]string{w.key.WorkspaceID})
		deadline := time.Now().Add(10 * time.Second)
		for h.cache.current(w.key.WorkspaceID) == "" {
			if time.Now().After(deadline) {
				t.Fatal("Warm built nothing")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+window); err != nil {
			t.Fatal(err)
		}
		if got := cr.got(); got != "p1:1 p2:1 r1:1 r3:1" {
			t.Fatalf("reads %s: the first request built again", got)
		}
	})
}

// TestPRDescriptionMentionsLinkWorkItems: the dashboard reads PRs keeping
// no text, so a #1234 in a title or description is resolved as the row is
// read: a known work item links the PR, an unknown number does not.
func TestPRDescriptionMentionsLinkWorkItems(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w, h := servedScenario(t, db)
		defer h.Close()
		linked := func(description string, updated time.Time) float64 {
			t.Helper()
			_, err := db.UpsertPullRequest(bg, store.PullRequest{Key: w.key, PRID: 1, ProjectID: "p1", RepoID: "r1",
				Title: "Checkout", Description: description, Status: "completed", AuthorID: "ann", CreatedAt: at(3, 11),
				ClosedAt: ptr(at(4, 12)), MergeCommit: "m1", ProviderUpdatedAt: updated})
			must(t, err)
			w.processed(t, "pr-"+updated.Format(time.RFC3339))
			return linkedShare(t, h, w)
		}
		if got := linked("Speeds up the cart (#555 is another tracker's)", at(4, 13)); got != 0 {
			t.Errorf("an unknown #555 linked the PR: share %v", got)
		}
		if got := linked("Fixes #100, the checkout outage", at(4, 14)); got != 1 {
			t.Errorf("a mention of work item 100 did not link the PR: share %v", got)
		}
	})
}

// linkedShare is the window's share of PRs linked to a work item.
func linkedShare(t *testing.T, h *Handlers, w world) float64 {
	t.Helper()
	rec, err := request(t, h.PullRequests, w, "/api/v1/metrics/pull-requests?"+window)
	must(t, err)
	r := decodeJSON[PullRequestReport](t, rec.Body.String())
	if r.WorkItemLinked.Value == nil {
		t.Fatalf("no work-item-linked share: %s", rec.Body.String())
	}
	return *r.WorkItemLinked.Value
}

// TestPRLinkTargetsAreKeyedByRepository: a work item's link to a pull
// request names its repository and number ("<repo>:<number>"): a link to
// another repository's #1 does not link this repository's #1.
func TestPRLinkTargetsAreKeyedByRepository(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w, h := servedScenario(t, db)
		defer h.Close()
		share := func(target string) float64 {
			t.Helper()
			must(t, db.AddWorkItemLink(bg, store.WorkItemLink{Key: w.key, WorkItemID: 100, TargetKind: "pull_request",
				TargetID: target, Origin: "artifact"}))
			w.processed(t, "link-"+target)
			return linkedShare(t, h, w)
		}
		if got := share(store.PRTarget("r9", 1)); got != 0 {
			t.Errorf("another repository's PR #1 linked r1's: share %v", got)
		}
		if got := share(store.PRTarget("r1", 1)); got != 1 {
			t.Errorf("the link to r1's PR #1 did not link it: share %v", got)
		}
	})
}

// TestCoverage checks metrics-v2 coverage through the API: collected-since
// per project, coverage on every figure and series point, rates over the
// covered days, no trend against a partly collected previous window, and
// the page saying so.
func TestCoverage(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, "acme")
		scenario(t, w)
		// Both projects were first backfilled from 30 Oct: d0 (25 Oct)
		// precedes collection.
		since := time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC)
		for _, p := range []string{"p1", "p2"} {
			must(t, db.NoteCollectedSince(bg, w.key, p, since))
		}
		h := New(db, clock, Config{})
		defer h.Close()

		rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+window)
		must(t, err)
		r := decodeJSON[DORAReport](t, rec.Body.String())
		if r.Coverage.Coverage != 1 || r.CollectedSince == nil || !r.CollectedSince.Equal(since) {
			t.Errorf("window coverage: %+v", r.Coverage)
		}
		f := r.DeploymentFrequency
		if f.Coverage.Coverage != 1 || f.N != 4 {
			t.Errorf("frequency coverage %v n %d", f.Coverage.Coverage, f.N)
		}
		// The previous window [19 Oct, 2 Nov) is collected from 30 Oct only:
		// 3 of 14 days. No trend, and the d0 of 25 Oct is not counted.
		p := f.Previous
		if p == nil || !p.NotEnoughHistory || p.Change != nil || p.Direction != "" || p.N != 0 {
			t.Fatalf("trend against a partly collected window: %+v", p)
		}
		if d := p.Coverage - 3.0/14; d > 1e-9 || d < -1e-9 {
			t.Errorf("previous coverage %v, want 3/14", p.Coverage)
		}

		// A year: 4 deployments over the covered 17 days (30 Oct – 16 Nov),
		// not over 365.
		rec, err = request(t, h.DORA, w, "/api/v1/metrics/dora?from=2025-11-16&to=2026-11-16")
		must(t, err)
		y := decodeJSON[DORAReport](t, rec.Body.String())
		wantFloat(t, "per week over the covered days", y.DeploymentFrequency.Value, 4/(17.0/7))
		if d := y.Coverage.Coverage - 17.0/365; d > 1e-9 || d < -1e-9 {
			t.Errorf("year coverage %v, want 17/365", y.Coverage.Coverage)
		}

		// The weekly series: weeks before collection are unknown (null),
		// the week of 26 Oct partly covered, later weeks wholly.
		rec, err = request(t, h.Series, w, "/api/v1/metrics/dora/series?from=2026-10-12&to=2026-11-16&interval=week")
		must(t, err)
		s := decodeJSON[SeriesReport](t, rec.Body.String())
		if len(s.Points) != 5 {
			t.Fatalf("%d weeks", len(s.Points))
		}
		if pt := s.Points[0]; pt.Coverage != 0 || pt.Deployments != nil {
			t.Errorf("week before collection: %+v", pt)
		}
		if pt := s.Points[2]; pt.Coverage <= 0 || pt.Coverage >= 1 || pt.Deployments == nil || *pt.Deployments != 0 {
			t.Errorf("partly covered week: coverage %v deployments %v", pt.Coverage, pt.Deployments)
		}
		if pt := s.Points[3]; pt.Coverage != 1 || pt.Deployments == nil || *pt.Deployments != 3 {
			t.Errorf("week of 2 Nov: %+v", pt)
		}

		// The page says since when, and greys the trend.
		rec, err = request(t, h.Page, w, "/?"+window)
		must(t, err)
		body := rec.Body.String()
		for _, want := range []string{"data since 30 Oct 2026", "no trend: the previous 14 days were not wholly collected",
			"trend history", "metrics-v2"} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})
}
