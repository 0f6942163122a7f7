package dashboard

import (
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/metrics"
	"github.com/pandev-metrics/pandev/internal/store"
)

// The API's shapes. Durations are seconds; a figure with n = 0 has
// no_data true and null value, median, p75 and p90 — never 0.

// Figure is one number on the dashboard with what it was computed from.
type Figure struct {
	N      int      `json:"n"`
	NoData bool     `json:"no_data"`
	Unit   string   `json:"unit"`
	Value  *float64 `json:"value"` // the headline: median, rate or per-week count
	Median *float64 `json:"median"`
	P75    *float64 `json:"p75"`
	P90    *float64 `json:"p90"`
	// Clamped counts negative spans (clock skew, rebases) clamped to 0.
	Clamped int `json:"clamped"`
	// Band is elite, high, medium or low; null when the figure has no data
	// or has no benchmark.
	Band              *string `json:"band"`
	BandYear          int     `json:"band_year,omitempty"`
	DefinitionVersion string  `json:"definition_version"`
	Coverage
	Previous *Trend `json:"previous,omitempty"`
}

// Coverage is how much of the window was collected (METRICS.md metrics-v2):
// the covered share, 0–1, and the earliest collected-since of the
// projects in the filter. Figures count only the covered part.
type Coverage struct {
	Coverage       float64    `json:"coverage"`
	CollectedSince *time.Time `json:"collected_since"`
}

func coverageOf(c metrics.Coverage) Coverage {
	out := Coverage{Coverage: c.Share}
	if !c.Since.IsZero() {
		out.CollectedSince = new(c.Since)
	}
	return out
}

// covered stamps the figures with the coverage of their window.
func covered(c metrics.Coverage, figures ...*Figure) {
	for _, f := range figures {
		f.Coverage = coverageOf(c)
	}
}

// Trend compares a figure with the same window just before.
type Trend struct {
	N     int      `json:"n"`
	Value *float64 `json:"value"`
	// Change is value − previous value; null when either has no data.
	Change *float64 `json:"change"`
	// Direction is better, worse or same (by the metric's good direction);
	// empty when there is nothing to compare.
	Direction string `json:"direction,omitempty"`
	// Coverage is the previous window's. A trend is given only against a
	// wholly collected previous window; otherwise NotEnoughHistory is true
	// and Change is null.
	Coverage         float64 `json:"coverage"`
	NotEnoughHistory bool    `json:"not_enough_history,omitempty"`
}

// Units.
const (
	unitSeconds    = "seconds"
	unitRatio      = "ratio"
	unitPerWeek    = "deployments_per_week"
	unitCount      = "count"
	unitDeployDays = "deploy_days_per_week"
)

func seconds(d *time.Duration) *float64 {
	if d == nil {
		return nil
	}
	return new(d.Seconds())
}

func bandOf(b metrics.Band) *string {
	if b == metrics.BandNone {
		return nil
	}
	return new(string(b))
}

// durationFigure is a figure over spans.
func durationFigure(s metrics.Stats, band metrics.Band, banded bool) Figure {
	f := Figure{N: s.N, NoData: s.NoData(), Unit: unitSeconds, Median: seconds(s.Median), P75: seconds(s.P75),
		P90: seconds(s.P90), Clamped: s.Clamped, DefinitionVersion: metrics.Version}
	f.Value = f.Median
	if banded {
		f.Band, f.BandYear = bandOf(band), metrics.BandYear
	}
	return f
}

func countFigure(s metrics.CountStats, unit string) Figure {
	return Figure{N: s.N, NoData: s.N == 0, Unit: unit, Value: s.Median, Median: s.Median, P75: s.P75, P90: s.P90,
		DefinitionVersion: metrics.Version}
}

func rateFigure(r metrics.Rate) Figure {
	return Figure{N: r.N, NoData: r.N == 0, Unit: unitRatio, Value: r.Value, DefinitionVersion: metrics.Version}
}

// withTrend sets f.Previous from prev, computed over a window of coverage
// prevCov; lowerIsBetter says which way is good.
func withTrend(f Figure, prev Figure, prevCov metrics.Coverage, lowerIsBetter bool) Figure {
	t := &Trend{N: prev.N, Value: prev.Value, Coverage: prevCov.Share, NotEnoughHistory: !prevCov.Whole()}
	if f.Value != nil && prev.Value != nil && !t.NotEnoughHistory {
		t.Change = new(*f.Value - *prev.Value)
		switch {
		case *t.Change == 0:
			t.Direction = "same"
		case (*t.Change < 0) == lowerIsBetter:
			t.Direction = "better"
		default:
			t.Direction = "worse"
		}
	}
	f.Previous = t
	return f
}

// WindowJSON is a window as the API shows it.
type WindowJSON struct {
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Project    string    `json:"project,omitempty"`
	Repository string    `json:"repository,omitempty"`
	// Team is the team the figures are narrowed to (id and name), if any.
	Team *TeamJSON `json:"team,omitempty"`
	// Source is the provider the figures are narrowed to ("azure-devops",
	// "github"); absent for every source combined.
	Source string `json:"source,omitempty"`
}

// TeamJSON names the team of a window.
type TeamJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func windowJSON(w delivery.Window) WindowJSON {
	out := WindowJSON{From: w.From, To: w.To, Project: w.Project, Repository: w.Repository}
	if w.Team != nil {
		out.Team = &TeamJSON{ID: w.Team.ID, Name: w.Team.Name}
	}
	if w.Source != nil {
		out.Source = w.Source.Provider
	}
	return out
}

// DORAReport is the answer of GET /api/v1/metrics/dora.
type DORAReport struct {
	DefinitionVersion string     `json:"definition_version"`
	BandYear          int        `json:"band_year"`
	Window            WindowJSON `json:"window"`
	Coverage
	PreviousWindow      WindowJSON        `json:"previous_window"`
	DeploymentFrequency FrequencyFigure   `json:"deployment_frequency"`
	LeadTime            Figure            `json:"lead_time"`
	ChangeFailureRate   FailureRateFigure `json:"change_failure_rate"`
	Recovery            RecoveryFigure    `json:"recovery"`
	// UnattributedIncidents counts incidents opened in the window that no
	// deployment is blamed for; see view=incidents for why.
	UnattributedIncidents int `json:"unattributed_incidents"`
	// BySource are the same figures per source, when the workspace has
	// more than one and no source is chosen. The combined figures above
	// are computed over the union of the sources' items (a median over all
	// of them), not from these.
	BySource []SourceDORA `json:"by_source,omitempty"`
}

// SourceDORA are the DORA figures of one source.
type SourceDORA struct {
	Source              string            `json:"source"`
	Label               string            `json:"label"`
	DeploymentFrequency FrequencyFigure   `json:"deployment_frequency"`
	LeadTime            Figure            `json:"lead_time"`
	ChangeFailureRate   FailureRateFigure `json:"change_failure_rate"`
	Recovery            RecoveryFigure    `json:"recovery"`
}

// FrequencyFigure is deployment frequency: value is deployments per week;
// median is the median deploy-days per 7-day block, which places the band.
type FrequencyFigure struct {
	Figure
	PerDay            *float64 `json:"per_day"`
	DeployDays        int      `json:"deploy_days"`
	WeeklyDeployDays  *float64 `json:"weekly_deploy_days"`
	MonthlyDeployDays *float64 `json:"monthly_deploy_days"`
	Weeks             int      `json:"weeks"`
	Months            int      `json:"months"`
}

// FailureRateFigure is the change failure rate with its parts.
type FailureRateFigure struct {
	Figure
	Failures     int `json:"failures"`
	Failed       int `json:"failed"`
	WithIncident int `json:"with_incident"`
}

// RecoveryFigure is recovery time; open failures are left out of it.
type RecoveryFigure struct {
	Figure
	Open int `json:"open"`
}

func frequencyFigure(f metrics.Frequency) FrequencyFigure {
	out := FrequencyFigure{
		Figure: Figure{N: f.N, NoData: f.N == 0, Unit: unitPerWeek, Value: f.PerWeek, Median: f.WeeklyDeployDays,
			Band: bandOf(f.Band), BandYear: metrics.BandYear, DefinitionVersion: metrics.Version},
		PerDay: f.PerDay, DeployDays: f.DeployDays, WeeklyDeployDays: f.WeeklyDeployDays,
		MonthlyDeployDays: f.MonthlyDeployDays, Weeks: f.Weeks, Months: f.Months,
	}
	if f.N == 0 {
		out.Median = nil
	}
	return out
}

func doraReport(a metrics.Set, w delivery.Window) DORAReport {
	cur, prev := a.DORA(w), a.DORA(previous(w))
	pc := prev.Coverage
	r := DORAReport{DefinitionVersion: metrics.Version, BandYear: metrics.BandYear, Window: windowJSON(w),
		Coverage: coverageOf(cur.Coverage), PreviousWindow: windowJSON(previous(w))}
	r.DeploymentFrequency = frequencyFigure(cur.DeploymentFrequency)
	r.DeploymentFrequency.Figure = withTrend(r.DeploymentFrequency.Figure, frequencyFigure(prev.DeploymentFrequency).Figure, pc, false)
	r.LeadTime = withTrend(durationFigure(cur.LeadTime.Stats, cur.LeadTime.Band, true),
		durationFigure(prev.LeadTime.Stats, prev.LeadTime.Band, true), pc, true)
	cfr := func(d metrics.DORA) Figure {
		f := rateFigure(d.ChangeFailureRate.Rate)
		f.Band, f.BandYear = bandOf(d.ChangeFailureRate.Band), metrics.BandYear
		return f
	}
	r.ChangeFailureRate = FailureRateFigure{Figure: withTrend(cfr(cur), cfr(prev), pc, true),
		Failures: cur.ChangeFailureRate.Count, Failed: cur.ChangeFailureRate.Failed, WithIncident: cur.ChangeFailureRate.WithIncident}
	r.Recovery = RecoveryFigure{Figure: withTrend(durationFigure(cur.Recovery.Stats, cur.Recovery.Band, true),
		durationFigure(prev.Recovery.Stats, prev.Recovery.Band, true), pc, true), Open: len(cur.Recovery.Open)}
	r.UnattributedIncidents = len(a.Incidents(w).Unattributed)
	covered(cur.Coverage, &r.DeploymentFrequency.Figure, &r.LeadTime, &r.ChangeFailureRate.Figure, &r.Recovery.Figure)
	return r
}

// PullRequestReport is the answer of GET /api/v1/metrics/pull-requests.
type PullRequestReport struct {
	DefinitionVersion string     `json:"definition_version"`
	Window            WindowJSON `json:"window"`
	Coverage

	Merged              int    `json:"merged"`
	MergedWithoutReview int    `json:"merged_without_review"`
	Coding              Figure `json:"coding"`
	Pickup              Figure `json:"pickup"`
	Review              Figure `json:"review"`
	Deploy              Figure `json:"deploy"`
	Cycle               Figure `json:"cycle"`
	Size                Figure `json:"size"`
	Comments            Figure `json:"comments"`
	Reviewers           Figure `json:"reviewers"`
	Approvals           Figure `json:"approvals"`
	WorkItemLinked      Figure `json:"work_item_linked"`
	// BySource are the same figures per source, as in DORAReport.
	BySource []SourcePullRequests `json:"by_source,omitempty"`
}

// SourcePullRequests are the pull request figures of one source.
type SourcePullRequests struct {
	Source string `json:"source"`
	Label  string `json:"label"`
	Merged int    `json:"merged"`
	Cycle  Figure `json:"cycle"`
	Coding Figure `json:"coding"`
	Pickup Figure `json:"pickup"`
	Review Figure `json:"review"`
	Deploy Figure `json:"deploy"`
}

// sourceWindows are w narrowed to each source of the workspace, when it
// has more than one and w is not narrowed to one already.
func sourceWindows(w delivery.Window, scopes []store.Scope) []delivery.Window {
	if w.Source != nil {
		return nil
	}
	var out []delivery.Window
	for _, p := range providers(scopes) {
		sw := w
		sw.Source, _ = resolveSource(p, scopes)
		out = append(out, sw)
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// providers are the providers of the workspace's projects, in Sources
// order.
func providers(scopes []store.Scope) []string {
	var out []string
	for _, s := range Sources {
		for _, sc := range scopes {
			if sc.Provider == s.Provider {
				out = append(out, s.Provider)
				break
			}
		}
	}
	return out
}

// withSources adds the per-source figures to r.
func (r *DORAReport) withSources(a metrics.Set, w delivery.Window, scopes []store.Scope) {
	for _, sw := range sourceWindows(w, scopes) {
		s := doraReport(a, sw)
		r.BySource = append(r.BySource, SourceDORA{Source: sw.Source.Provider, Label: sourceLabel(sw.Source.Provider),
			DeploymentFrequency: s.DeploymentFrequency, LeadTime: s.LeadTime, ChangeFailureRate: s.ChangeFailureRate, Recovery: s.Recovery})
	}
}

// withSources adds the per-source figures to r.
func (r *PullRequestReport) withSources(a metrics.Set, w delivery.Window, scopes []store.Scope) {
	for _, sw := range sourceWindows(w, scopes) {
		s := pullRequestReport(a, sw)
		r.BySource = append(r.BySource, SourcePullRequests{Source: sw.Source.Provider, Label: sourceLabel(sw.Source.Provider),
			Merged: s.Merged, Cycle: s.Cycle, Coding: s.Coding, Pickup: s.Pickup, Review: s.Review, Deploy: s.Deploy})
	}
}

func pullRequestReport(a metrics.Set, w delivery.Window) PullRequestReport {
	cur, prev := a.PullRequests(w), a.PullRequests(previous(w))
	pc := prev.Coverage
	dur := func(c, p metrics.Stats) Figure {
		return withTrend(durationFigure(c, metrics.BandNone, false), durationFigure(p, metrics.BandNone, false), pc, true)
	}
	r := PullRequestReport{
		DefinitionVersion: metrics.Version, Window: windowJSON(w), Coverage: coverageOf(cur.Coverage),
		Merged: cur.Merged, MergedWithoutReview: cur.MergedWithoutReview,
		Coding: dur(cur.Coding, prev.Coding), Pickup: dur(cur.Pickup, prev.Pickup), Review: dur(cur.Review, prev.Review),
		Deploy: dur(cur.Deploy, prev.Deploy), Cycle: dur(cur.Cycle, prev.Cycle),
		Size: countFigure(cur.Size, "files"), Comments: countFigure(cur.Comments, unitCount),
		Reviewers: countFigure(cur.Reviewers, unitCount), Approvals: countFigure(cur.Approvals, unitCount),
		WorkItemLinked: withTrend(rateFigure(cur.WorkItemLinked), rateFigure(prev.WorkItemLinked), pc, false),
	}
	covered(cur.Coverage, &r.Coding, &r.Pickup, &r.Review, &r.Deploy, &r.Cycle, &r.Size, &r.Comments, &r.Reviewers,
		&r.Approvals, &r.WorkItemLinked)
	return r
}

// WorkItemReport is the answer of GET /api/v1/metrics/work-items.
type WorkItemReport struct {
	DefinitionVersion string     `json:"definition_version"`
	Window            WindowJSON `json:"window"`
	Coverage
	AreaPath string   `json:"area_path,omitempty"`
	Types    []string `json:"types,omitempty"`
	LeadTime Figure   `json:"lead_time"`
}

func workItemReport(a metrics.Set, w delivery.Window, f metrics.WorkItemFilter) WorkItemReport {
	cur, prev := a.WorkItems(w, f), a.WorkItems(previous(w), f)
	r := WorkItemReport{DefinitionVersion: metrics.Version, Window: windowJSON(w), Coverage: coverageOf(cur.Coverage),
		AreaPath: f.AreaPath, Types: f.Types,
		LeadTime: withTrend(durationFigure(cur.LeadTime, metrics.BandNone, false),
			durationFigure(prev.LeadTime, metrics.BandNone, false), prev.Coverage, true)}
	covered(cur.Coverage, &r.LeadTime)
	return r
}
