package metrics

import (
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// frequency computes deployment frequency and its band from the successful
// deployments (indexes into a.deps, in finish order) of window w.
func (a *Analysis) frequency(w delivery.Window, succeeded []int) Frequency {
	f := Frequency{N: len(succeeded)}
	finishes := make([]time.Time, len(succeeded))
	for j, i := range succeeded {
		finishes[j] = a.deps[i].FinishedAt
		f.Deployments = append(f.Deployments, a.deps[i].ID)
	}
	if f.N == 0 {
		return f // "no data": no rate and no band
	}
	if length := w.Duration(); length > 0 {
		f.PerDay = new(float64(f.N) / (float64(length) / float64(day)))
		f.PerWeek = new(float64(f.N) / (float64(length) / float64(week)))
	}
	f.DeployDays = deployDays(finishes)
	var weekly, monthly []int
	weekly = blockDeployDays(w, week, finishes)
	monthly = blockDeployDays(w, month, finishes)
	f.Weeks, f.Months = len(weekly), len(monthly)
	f.WeeklyDeployDays = medianCount(weekly)
	f.MonthlyDeployDays = medianCount(monthly)
	f.Band = FrequencyBand(f.WeeklyDeployDays, f.MonthlyDeployDays)
	return f
}

// deployDays counts the distinct UTC days among sorted finish times.
func deployDays(sorted []time.Time) int {
	n := 0
	var last time.Time
	for _, t := range sorted {
		if d := utcDay(t); n == 0 || !d.Equal(last) {
			n++
			last = d
		}
	}
	return n
}

// blockDeployDays cuts w into blocks of the given size counted back from
// w.To, drops the partial block left at w.From, and counts deploy-days in
// each. Blocks are returned newest first.
func blockDeployDays(w delivery.Window, size time.Duration, sorted []time.Time) []int {
	var counts []int
	for end := w.To; !end.Add(-size).Before(w.From); end = end.Add(-size) {
		start := end.Add(-size)
		var in []time.Time
		for _, t := range sorted {
			if !t.Before(start) && t.Before(end) {
				in = append(in, t)
			}
		}
		counts = append(counts, deployDays(in))
	}
	return counts
}

func medianCount(counts []int) *float64 {
	if len(counts) == 0 {
		return nil
	}
	return SummarizeCounts(counts).Median
}

func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
