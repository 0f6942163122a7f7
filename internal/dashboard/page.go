package dashboard

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"time"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/metrics"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/web"
)

// Paths the page refers to; the route table must serve them.
const (
	// EventsPath is where Events is routed (GET).
	EventsPath = "/api/v1/metrics/events"
	// StaticPrefix is where Static is routed (GET StaticPrefix + "...").
	StaticPrefix = "/static/dashboard/"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

var dashboardPage = web.NewPage(templateFiles, "templates/dashboard.html", template.FuncMap{
	"dur": func(secs *float64) string {
		if secs == nil {
			return "–"
		}
		return humanDuration(*secs)
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2 Jan 15:04")
	},
})

// Static serves the dashboard's CSS and script under StaticPrefix.
func Static(w http.ResponseWriter, r *http.Request) error {
	sub, _ := fs.Sub(staticFiles, "static")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	web.NoListing(http.StripPrefix(StaticPrefix, http.FileServerFS(sub))).ServeHTTP(w, r)
	return nil
}

// PageData is what the dashboard template shows.
type PageData struct {
	web.Chrome
	Filters Filters
	Scopes  []store.Scope
	Empty   bool // no deployments and no merged PRs at all yet
	Window  string
	// Coverage says since when data was collected and how much of the
	// window that covers ("data since 5 Nov 2026, 27 % of this window").
	Coverage string
	// Definitions is the METRICS.md version the figures follow.
	Definitions string
	Version     string
	EventsPath  string
	Static      string
	Tiles       []Tile
	Charts      []template.HTML
	Flow        Flow
	Drill       Drill
}

// Filters are the filter form's values, as in the URL.
type Filters struct {
	From, To, Project, Repository string
	// Query is the encoded filters, for links (CSV exports); url.Values
	// encoded it, so the template must not encode it again.
	Query template.URL
}

// Tile is one DORA key.
type Tile struct {
	Key    string // deployment_frequency, lead_time, ...
	Name   string
	Value  string // "no data" when n = 0
	Detail string // e.g. "2.0 deploy-days per week"
	Band   string // elite, high, medium, low, or ""
	N      int
	NoData bool
	Trend  string // "▲ 1.5 vs previous 14 days" or ""
	// TrendClass is better, worse or same; history when the previous
	// window was not wholly collected (no trend, said in grey).
	TrendClass string
	Version    string
	Drill      string // anchor of the list behind the figure
}

// Flow is the PR flow breakdown bar: the median of each phase.
type Flow struct {
	Merged, WithoutReview int
	Cycle                 string
	Segments              []Segment
	WorkItemLinked        string
}

// Segment is one phase of the flow bar.
type Segment struct {
	Name, Value string
	Width       float64 // percent of the bar
	Class       string
}

// Drill are the lists behind the figures, capped for the page (the CSV
// exports hold everything).
type Drill struct {
	Deployments      []DeploymentRow
	DeploymentsTotal int
	PullRequests     []PullRequestRow
	PullRequestTotal int
	Unattributed     []IncidentRow
	Failures         []FailureRow
}

// drillLimit caps each list on the page.
const drillLimit = 50

// Page answers GET / for a workspace with Azure DevOps connected: tiles,
// charts, the PR flow and the lists behind them, for the window and
// filters in the URL.
func (h *Handlers) Page(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	snap, q, err := h.request(r)
	if err != nil {
		return err
	}
	data := buildPage(snap, q)
	data.Chrome = web.ChromeFor("Dashboard", p)
	w.Header().Set("Cache-Control", "no-store")
	return dashboardPage.Render(w, http.StatusOK, data)
}

func buildPage(snap *Snapshot, q query) PageData {
	a, win := snap.Set, q.Window
	v := url.Values{}
	for k, s := range map[string]string{"from": q.From, "to": q.To, "project": q.Project, "repository": q.Repository} {
		if s != "" {
			v.Set(k, s)
		}
	}
	data := PageData{
		Filters: Filters{From: win.From.Format("2006-01-02"), To: win.To.Format("2006-01-02"),
			Project: win.Project, Repository: win.Repository, Query: template.URL(v.Encode())},
		Scopes: snap.Scopes, Empty: snap.First.IsZero(), Version: snap.Version, EventsPath: EventsPath, Static: StaticPrefix,
		Window: fmt.Sprintf("%s – %s", win.From.Format("2 Jan 2006"), win.To.Add(-time.Nanosecond).Format("2 Jan 2006")),
	}
	dora := doraReport(a, win)
	data.Coverage, data.Definitions = coverageText(dora.Coverage), metrics.Version
	days := int(win.Duration().Hours() / 24)
	data.Tiles = []Tile{
		tile("deployment_frequency", "Deployment frequency", dora.DeploymentFrequency.Figure, days, "deployments",
			func(v float64) string { return trimFloat(v) + " / week" },
			fmt.Sprintf("%d deploy-days", dora.DeploymentFrequency.DeployDays)),
		tile("lead_time", "Lead time for changes", dora.LeadTime, days, "lead-time", humanDuration, "median, deploy finish − first commit"),
		tile("change_failure_rate", "Change failure rate", dora.ChangeFailureRate.Figure, days, "failures", percent,
			fmt.Sprintf("%d of %d deployments", dora.ChangeFailureRate.Failures, dora.ChangeFailureRate.N)),
		tile("recovery", "Failed deployment recovery", dora.Recovery.Figure, days, "failures", humanDuration,
			fmt.Sprintf("median; %d still open", dora.Recovery.Open)),
	}
	series := a.Series(win, metrics.Week)
	var deploys, lead, cfr, rec []ChartPoint
	for _, p := range series.Points {
		var n *float64
		if p.Coverage.Share > 0 { // a week before collection is a gap, not zero
			n = new(float64(p.Deployments))
		}
		deploys = append(deploys, ChartPoint{Start: p.Start, Value: n, N: p.Deployments})
		lead = append(lead, ChartPoint{Start: p.Start, Value: seconds(p.LeadTime.Median), N: p.LeadTime.N})
		cfr = append(cfr, ChartPoint{Start: p.Start, Value: p.ChangeFailureRate.Value, N: p.ChangeFailureRate.N})
		rec = append(rec, ChartPoint{Start: p.Start, Value: seconds(p.Recovery.Median), N: p.Recovery.N})
	}
	data.Charts = []template.HTML{
		Chart{Title: "Deployments per week", Kind: Bars, Points: deploys}.SVG(),
		Chart{Title: "Lead time median per week", Kind: Line, Points: lead, Format: humanDuration}.SVG(),
		Chart{Title: "Change failure rate per week", Kind: Line, Points: cfr, Format: percent}.SVG(),
		Chart{Title: "Recovery time median per week", Kind: Line, Points: rec, Format: humanDuration}.SVG(),
	}
	data.Flow = flowBar(pullRequestReport(a, win))
	data.Drill = drill(a, win)
	return data
}

func tile(key, name string, f Figure, days int, drillTo string, format func(float64) string, detail string) Tile {
	t := Tile{Key: key, Name: name, N: f.N, NoData: f.NoData, Value: "no data", Version: f.DefinitionVersion, Drill: "#" + drillTo}
	if f.Value != nil {
		t.Value = format(*f.Value)
		t.Detail = detail
	}
	if f.Band != nil {
		t.Band = *f.Band
	}
	if p := f.Previous; p != nil && p.NotEnoughHistory {
		t.Trend = fmt.Sprintf("no trend: the previous %d days were not wholly collected", days)
		t.TrendClass = "history"
	} else if p != nil && p.Change != nil {
		arrow := "▲"
		if *p.Change < 0 {
			arrow = "▼"
		} else if *p.Change == 0 {
			arrow = "="
		}
		change := *p.Change
		if change < 0 {
			change = -change
		}
		t.Trend = fmt.Sprintf("%s %s vs previous %d days", arrow, format(change), days)
		t.TrendClass = p.Direction
	} else if p != nil && p.N == 0 {
		t.Trend = fmt.Sprintf("no data in the previous %d days", days)
	}
	return t
}

// coverageText says since when the figures' data was collected and, when
// that is inside the window, how much of the window it covers.
func coverageText(c Coverage) string {
	if c.CollectedSince == nil {
		if c.Coverage == 0 {
			return "no project collected yet"
		}
		return ""
	}
	since := "data since " + c.CollectedSince.UTC().Format("2 Jan 2006")
	switch {
	case c.Coverage >= 1:
		return since
	case c.Coverage == 0:
		return since + ", none of it in this window"
	}
	return fmt.Sprintf("%s, %s of this window", since, percent(c.Coverage))
}

func flowBar(r PullRequestReport) Flow {
	f := Flow{Merged: r.Merged, WithoutReview: r.MergedWithoutReview, Cycle: "no data", WorkItemLinked: "no data"}
	if r.Cycle.Median != nil {
		f.Cycle = humanDuration(*r.Cycle.Median)
	}
	if r.WorkItemLinked.Value != nil {
		f.WorkItemLinked = percent(*r.WorkItemLinked.Value)
	}
	phases := []struct {
		name, class string
		fig         Figure
	}{{"Coding", "coding", r.Coding}, {"Pickup", "pickup", r.Pickup}, {"Review", "review", r.Review}, {"Deploy", "deploy", r.Deploy}}
	total := 0.0
	for _, p := range phases {
		if p.fig.Median != nil {
			total += *p.fig.Median
		}
	}
	for _, p := range phases {
		s := Segment{Name: p.name, Value: "no data", Class: p.class}
		if p.fig.Median != nil {
			s.Value = humanDuration(*p.fig.Median)
			if total > 0 {
				s.Width = 100 * *p.fig.Median / total
			}
		}
		f.Segments = append(f.Segments, s)
	}
	return f
}

func drill(a metrics.Set, w delivery.Window) Drill {
	var d Drill
	deps := deploymentsTable(a, w)
	d.DeploymentsTotal = len(deps.Items)
	for _, it := range deps.Items[:min(len(deps.Items), drillLimit)] {
		d.Deployments = append(d.Deployments, it.(DeploymentRow))
	}
	prs := pullRequestsTable(a, w)
	d.PullRequestTotal = len(prs.Items)
	for _, it := range prs.Items[:min(len(prs.Items), drillLimit)] {
		d.PullRequests = append(d.PullRequests, it.(PullRequestRow))
	}
	for _, it := range incidentsTable(a, w).Items {
		if row := it.(IncidentRow); row.Deployment == "" {
			d.Unattributed = append(d.Unattributed, row)
		}
	}
	for _, it := range failuresTable(a, w).Items {
		d.Failures = append(d.Failures, it.(FailureRow))
	}
	return d
}
