package dashboard

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
	"secs": humanDuration,
	// unix and sortsecs are the sort keys of drill-down cells; a missing
	// duration sorts last.
	"unix": func(t time.Time) int64 { return t.Unix() },
	"sortsecs": func(secs *float64) string {
		if secs == nil {
			return "1e18"
		}
		return fmt.Sprintf("%.0f", *secs)
	},
	// link is text linking to href on its provider (a new tab; provider
	// names it for screen readers, Azure DevOps when ""), or the text
	// alone when the address is unknown.
	"link": func(href, text, provider string) template.HTML {
		text = template.HTMLEscapeString(text)
		if !strings.HasPrefix(href, "https://") && !strings.HasPrefix(href, "http://") {
			return template.HTML(text) // unknown, or not a web address
		}
		return template.HTML(`<a class="azdo" href="` + template.HTMLEscapeString(href) + `" target="_blank" rel="noopener">` + text +
			`<span class="visually-hidden"> (opens ` + template.HTMLEscapeString(sourceLabel(cmp.Or(provider, providerAzure))) + `)</span></a>`)
	},
	"source": sourceLabel,
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
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
	// Scopes are the projects the pickers list: the chosen source's.
	Scopes []store.Scope
	Teams  []store.Team
	// Sources are the workspace's sources when it has more than one: the
	// source selector, the per-source splits and the drill-downs' Source
	// column show only then.
	Sources []Source
	// Team is the team the figures are narrowed to, with what it holds
	// ("3 people, 2 repositories"); "" for everyone.
	Team, TeamHolds string
	// Problem is a filter the page could not apply (an inverted or too long
	// window, an unknown project), shown above the figures with its fix;
	// the figures are then the default window's.
	Problem, ProblemHint string
	Presets              []Preset
	Empty                bool // no deployments and no merged PRs at all yet
	Window               string
	// Coverage says since when data was collected and how much of the
	// window that covers ("data since 5 Nov 2026, 27 % of this window").
	Coverage string
	// Definitions is the METRICS.md version the figures follow.
	Definitions     string
	DefinitionsPath string
	BandYear        int
	Version         string
	EventsPath      string
	Static          string
	Tiles           []Tile
	Charts          []ChartView
	Flow            Flow
	Drill           Drill
}

// Filters are the filter form's values, as in the URL.
type Filters struct {
	From, To, Project, Repository, Team, Source string
	// Query is the encoded filters, for links (CSV exports); url.Values
	// encoded it, so the template must not encode it again.
	Query template.URL
}

// Preset is a ready-made window of the filter.
type Preset struct {
	Label  string
	Query  template.URL // the filter's query with the preset's from and to
	Active bool
}

// Tile is one DORA key.
type Tile struct {
	Key    string // deployment_frequency, lead_time, ...
	Name   string
	Value  string // "no data" when n = 0
	Detail string // e.g. "2.0 deploy-days per week"
	// Spread is p75 and p90 beside a median ("p75 2 d · p90 5 d").
	Spread string
	Band   string // elite, high, medium, low, or ""
	N      int
	NoData bool
	// Why says why there is no figure (NoData only).
	Why   string
	Trend string // "▲ 1.5 vs previous 14 days" or ""
	// TrendClass is better, worse or same; history when the previous
	// window was not wholly collected (no trend, said in grey).
	TrendClass string
	Version    string
	Drill      string // anchor of the list behind the figure
	DrillLabel string
	Def        Definition
	Spark      template.HTML
	// Split is the figure per source, under the combined one, when the
	// workspace has more than one source and none is chosen.
	Split []SplitValue
}

// SplitValue is one source's value of a figure.
type SplitValue struct {
	Source, Label, Value string
	N                    int
}

// ChartView is a chart with the words around it.
type ChartView struct {
	Key, Title, Unit string
	SVG              template.HTML
	Partial          bool // a bucket is not over: say what the faded one means
}

// Flow is the PR flow breakdown bar: the median of each phase.
type Flow struct {
	Merged, WithoutReview int
	Cycle                 string
	CycleSpread           string
	Segments              []Segment
	WorkItemLinked        string
	// Defs explain the flow's figures, from the definitions table.
	Defs []Definition
	// Split is merged PRs and cycle time per source, as Tile.Split.
	Split []SplitValue
}

// Segment is one phase of the flow bar.
type Segment struct {
	Name, Value string
	Spread      string  // "p75 … · p90 …" beside the median
	Width       float64 // percent of the bar
	Class       string
}

// Drill are the lists behind the figures, capped at drillLimit rows for
// the page (the CSV exports hold everything); the page's script sorts and
// pages them.
type Drill struct {
	Deployments      []DeploymentRow
	DeploymentsTotal int
	LeadTime         []LeadTimeRow
	LeadTimeTotal    int
	PullRequests     []PullRequestRow
	PullRequestTotal int
	Unattributed     []IncidentRow
	Failures         []FailureRow
	FailuresTotal    int
	Limit            int
	PageSize         int
}

// drillLimit caps each list on the page; drillPage is how many rows the
// page shows at once.
const (
	drillLimit = 1000
	drillPage  = 50
)

// Page answers GET / for a workspace with Azure DevOps connected: tiles,
// charts, the PR flow and the lists behind them, for the window and
// filters in the URL. A filter it cannot apply is said in the page, above
// the default window's figures, never as a bare error page.
func (h *Handlers) Page(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	snap, err := h.Snapshot(r)
	if err != nil {
		return err
	}
	now := h.now()
	q, err := parseQuery(r.URL.Query(), now, snap.Scopes, snap.Teams)
	status := http.StatusOK
	var problem *delivery.Error
	if err != nil {
		if !errors.As(err, &problem) || problem.Kind != delivery.KindInvalid {
			return err
		}
		status = http.StatusBadRequest
		if q, err = parseQuery(url.Values{}, now, snap.Scopes, snap.Teams); err != nil {
			return err
		}
	}
	data := buildPage(snap, q, now)
	if problem != nil {
		data.Problem, data.ProblemHint = problem.Message, problem.Hint
		// Keep what was typed, so it can be corrected.
		v := r.URL.Query()
		data.Filters.From, data.Filters.To = v.Get("from"), v.Get("to")
	}
	data.Chrome = web.ChromeFor("Dashboard", p)
	w.Header().Set("Cache-Control", "no-store")
	return dashboardPage.Render(w, status, data)
}

func buildPage(snap *Snapshot, q query, now time.Time) PageData {
	a, win := snap.Set, q.Window
	v := url.Values{}
	for k, s := range map[string]string{"from": q.From, "to": q.To, "project": q.Project, "repository": q.Repository, "team": q.Team,
		"source": q.Source} {
		if s != "" {
			v.Set(k, s)
		}
	}
	data := PageData{
		Filters: Filters{From: win.From.Format("2006-01-02"), To: win.To.Format("2006-01-02"),
			Project: win.Project, Repository: win.Repository, Query: template.URL(v.Encode())},
		Scopes: sourceScopes(snap.Scopes, win.Source), Teams: snap.Teams, Empty: snap.First.IsZero(), Version: snap.Version, EventsPath: EventsPath, Static: StaticPrefix,
		Window:          fmt.Sprintf("%s – %s", win.From.Format("2 Jan 2006"), win.To.Add(-time.Nanosecond).Format("2 Jan 2006")),
		DefinitionsPath: DefinitionsPath, BandYear: metrics.BandYear,
		Presets: presets(q, now),
	}
	if ps := providers(snap.Scopes); len(ps) > 1 {
		for _, p := range ps {
			data.Sources = append(data.Sources, Source{Provider: p, Label: sourceLabel(p)})
		}
	}
	if win.Source != nil {
		data.Filters.Source = win.Source.Provider
	}
	if t := win.Team; t != nil {
		data.Filters.Team, data.Team = t.ID, t.Name
		data.TeamHolds = plural(len(t.Authors), "person", "people") + ", " + plural(len(t.Repositories), "repository", "repositories")
	}
	dora := doraReport(a, win)
	dora.withSources(a, win, snap.Scopes)
	data.Coverage, data.Definitions = coverageText(dora.Coverage), metrics.Version
	days := int(win.Duration().Hours() / 24)
	series := a.Series(win, metrics.Week)
	var deploys, lead, cfr, rec []ChartPoint
	end := win.To
	if now.Before(end) {
		end = now
	}
	for _, p := range series.Points {
		var n *float64
		if p.Coverage.Share > 0 { // a week before collection is a gap, not zero
			n = new(float64(p.Deployments))
		}
		partial := p.Start.AddDate(0, 0, 7).After(end) || p.Start.Before(win.From)
		deploys = append(deploys, ChartPoint{Start: p.Start, Value: n, N: p.Deployments, Partial: partial})
		lead = append(lead, ChartPoint{Start: p.Start, Value: seconds(p.LeadTime.Median), N: p.LeadTime.N, Partial: partial})
		cfr = append(cfr, ChartPoint{Start: p.Start, Value: p.ChangeFailureRate.Value, N: p.ChangeFailureRate.N, Partial: partial})
		rec = append(rec, ChartPoint{Start: p.Start, Value: seconds(p.Recovery.Median), N: p.Recovery.N, Partial: partial})
	}
	// Why a figure or chart is empty, most basic reason first.
	why := func(nothing string) string {
		switch {
		case len(snap.Scopes) == 0:
			return "no project selected yet: pick projects in Settings"
		case dora.Coverage.CollectedSince == nil && dora.Coverage.Coverage == 0:
			return "not collected yet: the backfill has not reached this project"
		case dora.Coverage.Coverage == 0:
			return "this window is before collection started (" + coverageText(dora.Coverage) + ")"
		}
		return nothing
	}
	noDeploys := why("no production deployments in this window")
	noRecovery := "no failed deployment in this window"
	if dora.Recovery.Open > 0 {
		noRecovery = fmt.Sprintf("none of the %d failures has recovered yet", dora.Recovery.Open)
	}
	data.Tiles = []Tile{
		tile("deployment_frequency", dora.DeploymentFrequency.Figure, days, "deployments", "the deployments",
			func(v float64) string { return trimFloat(v) + " / week" },
			fmt.Sprintf("%d deploy-days", dora.DeploymentFrequency.DeployDays), noDeploys, deploys),
		tile("lead_time", dora.LeadTime, days, "lead-time", "the changes and their lead times", humanDuration,
			"median, deploy finish − first commit", why("no change reached production in this window"), lead),
		tile("change_failure_rate", dora.ChangeFailureRate.Figure, days, "deployments", "the deployments", percent,
			fmt.Sprintf("%d of %d deployments", dora.ChangeFailureRate.Failures, dora.ChangeFailureRate.N), noDeploys, cfr),
		tile("recovery", dora.Recovery.Figure, days, "failures", "the failures and their recovery", humanDuration,
			fmt.Sprintf("median; %d still open", dora.Recovery.Open), why(noRecovery), rec),
	}
	data.Charts = []ChartView{
		chartView("deployment_frequency", "Production deployments per week", "deployments", Chart{Kind: Bars, Points: deploys, Empty: noDeploys}),
		chartView("lead_time", "Lead time for changes per week", "median, hours or days", Chart{Kind: Line, Points: lead, Format: humanDuration,
			Ceil: niceDuration, Empty: why("no change reached production in this window")}),
		chartView("change_failure_rate", "Change failure rate per week", "% of production deployments", Chart{Kind: Line, Points: cfr, Format: percent,
			Empty: noDeploys}),
		chartView("recovery", "Failed deployment recovery per week", "median, hours or days", Chart{Kind: Line, Points: rec, Format: humanDuration,
			Ceil: niceDuration, Empty: why("no failed deployment recovered in this window")}),
	}
	for i := range data.Tiles {
		for _, s := range dora.BySource {
			f, format := s.DeploymentFrequency.Figure, func(v float64) string { return trimFloat(v) + " / week" }
			switch data.Tiles[i].Key {
			case "lead_time":
				f, format = s.LeadTime, humanDuration
			case "change_failure_rate":
				f, format = s.ChangeFailureRate.Figure, percent
			case "recovery":
				f, format = s.Recovery.Figure, humanDuration
			}
			data.Tiles[i].Split = append(data.Tiles[i].Split, splitValue(s.Source, s.Label, f, format))
		}
	}
	prs := pullRequestReport(a, win)
	prs.withSources(a, win, snap.Scopes)
	data.Flow = flowBar(prs)
	for _, s := range prs.BySource {
		v := splitValue(s.Source, s.Label, s.Cycle, humanDuration)
		v.Value = fmt.Sprintf("%d merged, cycle %s", s.Merged, v.Value)
		data.Flow.Split = append(data.Flow.Split, v)
	}
	data.Drill = drill(a, win, snap.names())
	return data
}

// splitValue is one source's value of a figure.
func splitValue(source, label string, f Figure, format func(float64) string) SplitValue {
	v := SplitValue{Source: source, Label: label, Value: "no data", N: f.N}
	if f.Value != nil {
		v.Value = format(*f.Value)
	}
	return v
}

// sourceScopes are the projects of a source; all of them without one.
func sourceScopes(scopes []store.Scope, src *delivery.SourceScope) []store.Scope {
	if src == nil {
		return scopes
	}
	var out []store.Scope
	for _, s := range scopes {
		if src.Projects[s.ProjectID] {
			out = append(out, s)
		}
	}
	return out
}

// plural is "1 person", "2 people".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func chartView(key, title, unit string, c Chart) ChartView {
	c.Title, c.Unit = title, unit
	return ChartView{Key: key, Title: title, Unit: unit, SVG: c.SVG(), Partial: c.HasPartial()}
}

// presets are the filter's ready-made windows, ending with today (UTC)
// included, keeping the project and repository.
func presets(q query, now time.Time) []Preset {
	y, m, d := now.UTC().Date()
	to := time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	quarter := time.Date(y, time.Month((int(m)-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	var out []Preset
	for _, p := range []struct {
		label string
		from  time.Time
	}{{"7 days", to.AddDate(0, 0, -7)}, {"30 days", to.AddDate(0, 0, -30)}, {"90 days", to.AddDate(0, 0, -90)},
		{"This quarter", quarter}} {
		v := url.Values{}
		v.Set("from", p.from.Format("2006-01-02"))
		v.Set("to", to.Format("2006-01-02"))
		if q.Project != "" {
			v.Set("project", q.Project)
		}
		if q.Repository != "" {
			v.Set("repository", q.Repository)
		}
		if q.Team != "" {
			v.Set("team", q.Team)
		}
		if q.Source != "" {
			v.Set("source", q.Source)
		}
		out = append(out, Preset{Label: p.label, Query: template.URL(v.Encode()),
			Active: q.Window.From.Equal(p.from) && q.Window.To.Equal(to)})
	}
	return out
}

func tile(key string, f Figure, days int, drillTo, drillLabel string, format func(float64) string, detail, why string,
	spark []ChartPoint) Tile {
	def := definitionOf(key)
	t := Tile{Key: key, Name: def.Name, N: f.N, NoData: f.NoData, Value: "no data", Version: f.DefinitionVersion,
		Drill: "#" + drillTo, DrillLabel: drillLabel, Def: def, Spark: Sparkline(spark)}
	if f.Value != nil {
		t.Value = format(*f.Value)
		t.Detail = detail
	} else {
		t.Why = why
	}
	if f.Unit == unitSeconds && f.P75 != nil && f.P90 != nil {
		t.Spread = "p75 " + humanDuration(*f.P75) + " · p90 " + humanDuration(*f.P90)
	}
	if f.Band != nil {
		t.Band = *f.Band
	}
	change := format
	if f.Unit == unitRatio {
		change = points // a rate moves in percentage points
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
		d := *p.Change
		if d < 0 {
			d = -d
		}
		t.Trend = fmt.Sprintf("%s %s vs previous %d days", arrow, change(d), days)
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
	for _, k := range []string{"cycle", "coding", "pickup", "review", "deploy", "work_item_linked"} {
		f.Defs = append(f.Defs, definitionOf(k))
	}
	if r.Cycle.Median != nil {
		f.Cycle = humanDuration(*r.Cycle.Median)
	}
	if r.Cycle.P75 != nil && r.Cycle.P90 != nil {
		f.CycleSpread = "p75 " + humanDuration(*r.Cycle.P75) + " · p90 " + humanDuration(*r.Cycle.P90)
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
		if p.fig.P75 != nil && p.fig.P90 != nil {
			s.Spread = "p75 " + humanDuration(*p.fig.P75) + " · p90 " + humanDuration(*p.fig.P90)
		}
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

func drill(a metrics.Set, w delivery.Window, n names) Drill {
	d := Drill{Limit: drillLimit, PageSize: drillPage}
	deps := deploymentsTable(a, w, n)
	d.DeploymentsTotal = len(deps.Items)
	for _, it := range deps.Items[:min(len(deps.Items), drillLimit)] {
		d.Deployments = append(d.Deployments, it.(DeploymentRow))
	}
	lead := leadTimeTable(a, w, n)
	d.LeadTimeTotal = len(lead.Items)
	for _, it := range lead.Items[:min(len(lead.Items), drillLimit)] {
		d.LeadTime = append(d.LeadTime, it.(LeadTimeRow))
	}
	prs := pullRequestsTable(a, w, n)
	d.PullRequestTotal = len(prs.Items)
	for _, it := range prs.Items[:min(len(prs.Items), drillLimit)] {
		d.PullRequests = append(d.PullRequests, it.(PullRequestRow))
	}
	for _, it := range incidentsTable(a, w, n).Items {
		if row := it.(IncidentRow); row.Deployment == "" {
			d.Unattributed = append(d.Unattributed, row)
		}
	}
	fails := failuresTable(a, w, n)
	d.FailuresTotal = len(fails.Items)
	for _, it := range fails.Items[:min(len(fails.Items), drillLimit)] {
		d.Failures = append(d.Failures, it.(FailureRow))
	}
	return d
}
