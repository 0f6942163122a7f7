package metrics

import (
	"slices"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// frequency computes deployment frequency and its band from the successful
// deployments of window w, in finish order.
func frequency(w delivery.Window, succeeded []depRef) Frequency {
	f := Frequency{N: len(succeeded)}
	finishes := make([]time.Time, len(succeeded))
	for j, r := range succeeded {
		finishes[j] = r.dep().FinishedAt
		f.Deployments = append(f.Deployments, r.dep().ID)
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
		lo, _ := slices.BinarySearchFunc(sorted, start, time.Time.Compare)
		hi, _ := slices.BinarySearchFunc(sorted, end, time.Time.Compare)
		counts = append(counts, deployDays(sorted[lo:hi]))
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
