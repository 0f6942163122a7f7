package metrics

import (
	"slices"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// frequency computes deployment frequency and its band from the successful
// deployments of window w, in finish order. Rates divide by the covered
// time, and the deploy-days blocks are cut from the part every project
// covers: a week before collection is unknown, not a week without
// deployments.
func frequency(w delivery.Window, cov Coverage, succeeded []depRef) Frequency {
	f := Frequency{N: len(succeeded)}
	if f.N == 0 {
		return f // "no data": no rate and no band
	}
	finishes := make([]int64, len(succeeded)) // Unix ns, ascending
	for j, r := range succeeded {
		finishes[j] = r.dep().finished
	}
	if length := cov.covered(w); length > 0 {
		f.PerDay = new(float64(f.N) / (float64(length) / float64(day)))
		f.PerWeek = new(float64(f.N) / (float64(length) / float64(week)))
	}
	f.DeployDays = deployDays(finishes)
	whole := w
	whole.From = later(w.From, cov.Complete)
	weekly := blockDeployDays(whole, week, finishes)
	monthly := blockDeployDays(whole, month, finishes)
	f.Weeks, f.Months = len(weekly), len(monthly)
	f.WeeklyDeployDays = medianCount(weekly)
	f.MonthlyDeployDays = medianCount(monthly)
	f.Band = FrequencyBand(f.WeeklyDeployDays, f.MonthlyDeployDays)
	return f
}

// deployDays counts the distinct UTC days among sorted finish times (Unix
// ns): Unix time counts UTC days of exactly 86,400 seconds.
func deployDays(sorted []int64) int {
	n := 0
	var last int64
	for _, t := range sorted {
		if d := utcDayNumber(t); n == 0 || d != last {
			n++
			last = d
		}
	}
	return n
}

// utcDayNumber is the UTC day of a Unix ns time, counted from 1970-01-01.
func utcDayNumber(ns int64) int64 {
	d := ns / int64(day)
	if ns < 0 && ns%int64(day) != 0 {
		d--
	}
	return d
}

// blockDeployDays cuts w into blocks of the given size counted back from
// w.To, drops the partial block left at w.From, and counts deploy-days in
// each. Blocks are returned newest first.
func blockDeployDays(w delivery.Window, size time.Duration, sorted []int64) []int {
	var counts []int
	for end := w.To; !end.Add(-size).Before(w.From); end = end.Add(-size) {
		lo, _ := slices.BinarySearch(sorted, end.Add(-size).UnixNano())
		hi, _ := slices.BinarySearch(sorted, end.UnixNano())
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
