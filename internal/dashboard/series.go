package dashboard

import (
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/metrics"
)

// buckets cuts w into UTC days or ISO weeks (Monday first), clipped to w,
// the same buckets metrics.Series uses.
func buckets(w delivery.Window, iv metrics.Interval) []delivery.Window {
	y, m, d := w.From.UTC().Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	step := 1
	if iv == metrics.Week {
		start = start.AddDate(0, 0, -(int(start.Weekday())+6)%7)
		step = 7
	}
	var out []delivery.Window
	for ; start.Before(w.To); start = start.AddDate(0, 0, step) {
		b := w
		b.From, b.To = start, start.AddDate(0, 0, step)
		if b.From.Before(w.From) {
			b.From = w.From
		}
		if b.To.After(w.To) {
			b.To = w.To
		}
		out = append(out, b)
	}
	return out
}

// SeriesReport is the answer of GET /api/v1/metrics/{kind}/series.
type SeriesReport struct {
	DefinitionVersion string     `json:"definition_version"`
	Kind              string     `json:"kind"`
	Interval          string     `json:"interval"`
	Window            WindowJSON `json:"window"`
	Coverage
	Points []SeriesPoint `json:"points"`
}

// SeriesPoint is one bucket [start, end). Which figures it holds depends on
// the kind; bands are not given per point (a day or a week is too short).
//
// Coverage is the bucket's collected share: a bucket before collection
// (coverage 0) has null counts, since nothing is known of it; a partly
// covered bucket counts its covered part.
type SeriesPoint struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Coverage float64   `json:"coverage"`
	// dora
	Deployments       *int    `json:"deployments,omitempty"`
	DeployDays        *int    `json:"deploy_days,omitempty"`
	LeadTime          *Figure `json:"lead_time,omitempty"`
	ChangeFailureRate *Figure `json:"change_failure_rate,omitempty"`
	Recovery          *Figure `json:"recovery,omitempty"`
	// pull-requests
	Merged              *int    `json:"merged,omitempty"`
	MergedWithoutReview *int    `json:"merged_without_review,omitempty"`
	Cycle               *Figure `json:"cycle,omitempty"`
	Pickup              *Figure `json:"pickup,omitempty"`
	Review              *Figure `json:"review,omitempty"`
	// work-items
	WorkItemLeadTime *Figure `json:"work_item_lead_time,omitempty"`
}

func seriesReport(a metrics.Set, kind string, w delivery.Window, iv metrics.Interval, f metrics.WorkItemFilter) SeriesReport {
	r := SeriesReport{DefinitionVersion: metrics.Version, Kind: kind, Interval: string(iv), Window: windowJSON(w),
		Coverage: coverageOf(a.Coverage(w)), Points: []SeriesPoint{}}
	dur := func(s metrics.Stats) *Figure { return new(durationFigure(s, metrics.BandNone, false)) }
	// count is a bucket's count, null when nothing of the bucket was collected.
	count := func(n int, c metrics.Coverage) *int {
		if c.Share == 0 {
			return nil
		}
		return new(n)
	}
	switch kind {
	case "dora":
		for _, p := range a.Series(w, iv).Points {
			c := p.Coverage
			r.Points = append(r.Points, SeriesPoint{Start: p.Start, End: p.End, Coverage: c.Share,
				Deployments: count(p.Deployments, c), DeployDays: count(p.DeployDays, c), LeadTime: dur(p.LeadTime),
				ChangeFailureRate: new(rateFigure(p.ChangeFailureRate)), Recovery: dur(p.Recovery)})
		}
	case "pull-requests":
		for _, b := range buckets(w, iv) {
			flow := a.PullRequests(b)
			c := flow.Coverage
			r.Points = append(r.Points, SeriesPoint{Start: b.From, End: b.To, Coverage: c.Share, Merged: count(flow.Merged, c),
				MergedWithoutReview: count(flow.MergedWithoutReview, c), Cycle: dur(flow.Cycle), Pickup: dur(flow.Pickup),
				Review: dur(flow.Review)})
		}
	case "work-items":
		for _, b := range buckets(w, iv) {
			wi := a.WorkItems(b, f)
			r.Points = append(r.Points, SeriesPoint{Start: b.From, End: b.To, Coverage: wi.Coverage.Share,
				WorkItemLeadTime: dur(wi.LeadTime)})
		}
	}
	return r
}

func seriesTable(r SeriesReport) table {
	t := table{Name: r.Kind + "-series", Columns: []string{"start", "end", "coverage"}}
	fig := func(f *Figure) []string {
		if f == nil {
			return []string{"", ""}
		}
		return []string{itoa(f.N), fmtFloat(f.Value)}
	}
	ip := func(n *int) string {
		if n == nil {
			return ""
		}
		return itoa(*n)
	}
	switch r.Kind {
	case "dora":
		t.Columns = append(t.Columns, "deployments", "deploy_days", "lead_time_n", "lead_time_median_seconds",
			"change_failure_rate_n", "change_failure_rate", "recovery_n", "recovery_median_seconds")
	case "pull-requests":
		t.Columns = append(t.Columns, "merged", "merged_without_review", "cycle_n", "cycle_median_seconds",
			"pickup_n", "pickup_median_seconds", "review_n", "review_median_seconds")
	case "work-items":
		t.Columns = append(t.Columns, "work_item_lead_time_n", "work_item_lead_time_median_seconds")
	}
	for _, p := range r.Points {
		row := []string{fmtTime(p.Start), fmtTime(p.End), fmtFloat(&p.Coverage)}
		switch r.Kind {
		case "dora":
			row = append(row, ip(p.Deployments), ip(p.DeployDays))
			row = append(append(append(row, fig(p.LeadTime)...), fig(p.ChangeFailureRate)...), fig(p.Recovery)...)
		case "pull-requests":
			row = append(row, ip(p.Merged), ip(p.MergedWithoutReview))
			row = append(append(append(row, fig(p.Cycle)...), fig(p.Pickup)...), fig(p.Review)...)
		case "work-items":
			row = append(row, fig(p.WorkItemLeadTime)...)
		}
		t.add(p, row...)
	}
	return t
}
