package dashboard

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/browsertest"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
	"github.com/pandev-metrics/pandev/internal/web"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestTemplateExecutesWithItsPageData type-checks the template against
// PageData, empty and full: a field renamed in Go but not in HTML fails.
func TestTemplateExecutesWithItsPageData(t *testing.T) {
	db := storetest.OpenSQLite(t)
	w, h := servedScenario(t, db)
	defer h.Close()
	r := httptest.NewRequest(http.MethodGet, "/?"+window, nil).WithContext(auth.WithPrincipal(bg, auth.Principal{User: w.user}))
	snap, err := h.Snapshot(r)
	must(t, err)
	q, err := parseQuery(r.URL.Query(), now, snap.Scopes, snap.Teams)
	must(t, err)
	for name, data := range map[string]PageData{"zero": {}, "scenario": buildPage(snap, q, now)} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := dashboardPage.Render(rec, http.StatusOK, data); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(rec.Body.String(), "<!doctype html>") {
				t.Fatal("layout not rendered")
			}
		})
	}
}

func TestPage(t *testing.T) {
	db := storetest.OpenSQLite(t)
	w, h := servedScenario(t, db)
	defer h.Close()
	rec, err := request(t, h.Page, w, "/?"+window+"&project=Shop")
	must(t, err)
	body := rec.Body.String()
	for _, want := range []string{
		`id="tile-deployment_frequency"`, "1.5 / week", "n = 3", // d1, d2, d4 in Shop over two weeks
		"25.2 h", "50 %", "<svg class=\"chart\"", "Production deployments per week",
		`<option value="p1" selected>Shop</option>`, "format=csv&amp;from=2026-11-02&amp;project=Shop&amp;to=2026-11-16",
		"Pull-request flow", "!1", "metrics-v2",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// A workspace without data shows "no data", never zeros.
	other := newWorld(t, db, "other")
	rec, err = request(t, h.Page, other, "/")
	must(t, err)
	if b := rec.Body.String(); !strings.Contains(b, "No deployments or merged pull requests yet") || strings.Contains(b, "0 / week") {
		t.Errorf("empty page: %s", b)
	}
	// ... and says why each figure and chart is empty.
	if b := rec.Body.String(); strings.Count(b, `<span class="why">`) != 4 || strings.Contains(b, `<span class="why"></span>`) ||
		strings.Contains(b, ">no data in this window<") || !strings.Contains(b, `text-anchor="middle">not collected yet: the backfill has not reached this project</text>`) {
		t.Errorf("the empty page does not say why figures are empty:\n%s", b)
	}
	// Static files are embedded.
	rec, err = request(t, Static, w, StaticPrefix+"dashboard.js")
	must(t, err)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "EventSource") {
		t.Errorf("static: %d", rec.Code)
	}
}

// TestChartGolden pins the SVG of one chart with a gap and a clamped axis.
func TestChartGolden(t *testing.T) {
	week := func(i int) time.Time { return time.Date(2026, 11, 2+7*i, 0, 0, 0, 0, time.UTC) }
	c := Chart{Title: "Lead time median per week", Kind: Line, Format: humanDuration, Points: []ChartPoint{
		{Start: week(0), Value: ptr(1800.0), N: 1},
		{Start: week(1), Value: ptr(180000.0), N: 3},
		{Start: week(2), N: 0},
		{Start: week(3), Value: ptr(7200.0), N: 2, Partial: true},
	}}
	got := []byte(string(c.SVG()) + "\n" + string(Chart{Title: "Deployments per week", Kind: Bars, Points: []ChartPoint{
		{Start: week(0), Value: ptr(3.0), N: 3}, {Start: week(1), Value: ptr(0.0)}, {Start: week(2), Value: ptr(7.0), N: 7},
	}}.SVG()) + "\n" + string(Chart{Title: "Empty", Kind: Line}.SVG()) + "\n")
	path := filepath.Join("testdata", "chart.svg.golden")
	if *update {
		must(t, os.MkdirAll("testdata", 0o755))
		must(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("chart SVG differs from %s (run with -update after checking):\n%s", path, got)
	}
}

// serve runs the dashboard's handlers behind a test server as the member
// of w, with the routes the server table gives them.
func serve(t *testing.T, h *Handlers, w world) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	adapt := func(f func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{User: w.user}))
			if err := f(rw, r); err != nil {
				status := http.StatusInternalServerError
				if delivery.KindOf(err) == delivery.KindInvalid {
					status = http.StatusBadRequest
				}
				http.Error(rw, err.Error(), status)
			}
		}
	}
	mux.Handle("GET /{$}", adapt(h.Page))
	mux.Handle("GET "+StaticPrefix, adapt(Static))
	mux.Handle("GET /static/", web.Static())
	mux.Handle("GET "+EventsPath, adapt(h.Events))
	mux.Handle("GET /api/v1/metrics/dora", adapt(h.DORA))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowserLiveDeployment opens the dashboard in Chromium, stores a
// deployment the way webhook processing does, and sees the deployment tile
// change within 2 s without a page reload.
func TestBrowserLiveDeployment(t *testing.T) {
	db := storetest.OpenSQLite(t)
	w, h := servedScenario(t, db) // polls once a second, as in production
	defer h.Close()
	srv := serve(t, h, w)
	ctx := browsertest.New(t)

	tileN := `document.querySelector('#tile-deployment_frequency .n').textContent`
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/?"+window),
		chromedp.WaitVisible(chromedp.CSS(`#tile-deployment_frequency`)),
	)
	must(t, err)
	// Wait until the event stream is open, so the change cannot be missed.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.documentElement.dataset.live === "open"`))
	must(t, err)
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`))
	must(t, err)
	before, err := chromedp.Run(ctx, chromedp.Evaluate[string](tileN))
	must(t, err)
	if !strings.HasPrefix(before, "n = 4") {
		t.Fatalf("tile before: %q", before)
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90)); err == nil {
		if dir := os.Getenv("PANDEV_SCREENSHOTS"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, "dashboard.png"), png, 0o644)
		}
	}

	start := time.Now()
	must(t, db.InTx(bg, func(tx *store.Tx) error { // what the collector does for a deployment event
		if err := tx.UpsertDeployment(bg, store.Deployment{Key: w.key, DeploymentKey: "release:9:1:1", ProjectID: "p1",
			Source: "release", Environment: "prod", IsProduction: true, Result: "succeeded", FinishedAt: ptr(at(12, 10))}); err != nil {
			return err
		}
		if _, err := tx.InsertInboxEvent(bg, store.InboxEvent{Key: w.key, EventID: "ev-1", EventType: "ms.vss-release.deployment-completed-event",
			Payload: "{}", ReceivedAt: time.Now()}); err != nil {
			return err
		}
		return tx.MarkInboxEvent(bg, w.key.IntegrationID, "ev-1", "processed", "", time.Now())
	}))
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	after, err := chromedp.Run(pctx, chromedp.Poll[string](`(() => { const t = `+tileN+`; return t.startsWith('n = 5') ? t : false })()`))
	if err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](tileN))
		t.Fatalf("tile did not change within 2 s (now %q): %v", got, err)
	}
	t.Logf("deployment tile changed after %v: %q", time.Since(start).Round(time.Millisecond), after)
	kept, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`))
	if err != nil || !kept {
		t.Fatalf("the page was reloaded: %v %v", kept, err)
	}
}

// TestNiceDuration: a duration axis tops at a round number of its unit.
func TestNiceDuration(t *testing.T) {
	for secs, want := range map[float64]string{50: "50 s", 61: "2 min", 2000: "50 min", 3500: "1 h", 4000: "2 h", 30 * 3600: "2 d",
		20 * 3600: "20 h", 47 * 3600: "2 d", 50 * 3600: "5 d", 500000: "10 d", 3 * 86400: "5 d"} {
		if got := humanDuration(niceDuration(secs)); got != want {
			t.Errorf("niceDuration(%v) = %s, want %s", secs, got, want)
		}
	}
}
