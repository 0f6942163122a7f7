package metrics

import (
	"slices"
	"time"
)

// Stats summarizes a set of durations. With N == 0 the figure is "no data":
// Median, P75 and P90 are nil rather than zero, so no one can show a 0.
type Stats struct {
	N int
	// Clamped counts the negative spans (clock skew, rebased commits) that
	// were clamped to 0 before summarizing.
	Clamped int
	Median  *time.Duration
	P75     *time.Duration
	P90     *time.Duration
}

// NoData reports whether the figure was computed from no items.
func (s Stats) NoData() bool { return s.N == 0 }

// Summarize clamps negative spans to 0, counting them, and returns the
// median (mean of the two middle values for an even count), p75 and p90.
// Percentiles interpolate linearly between closest ranks, the rule under
// which p50 is exactly the ordinary median.
func Summarize(spans []time.Duration) Stats {
	s := Stats{N: len(spans)}
	if s.N == 0 {
		return s
	}
	sorted := make([]time.Duration, len(spans))
	for i, d := range spans {
		if d < 0 {
			d = 0
			s.Clamped++
		}
		sorted[i] = d
	}
	slices.Sort(sorted)
	s.Median = new(percentile(sorted, 1, 2))
	s.P75 = new(percentile(sorted, 3, 4))
	s.P90 = new(percentile(sorted, 9, 10))
	return s
}

// percentile returns the num/den quantile of sorted values, interpolating
// in integers so that results are exact (to the nanosecond) and repeatable.
func percentile(sorted []time.Duration, num, den int) time.Duration {
	pos := (len(sorted) - 1) * num
	lo, rem := pos/den, pos%den
	if rem == 0 {
		return sorted[lo]
	}
	return sorted[lo] + (sorted[lo+1]-sorted[lo])*time.Duration(rem)/time.Duration(den)
}

// clamp returns d, or 0 when d is negative.
func clamp(d time.Duration) time.Duration { return max(d, 0) }

// CountStats summarizes per-item counts such as PR size or comment count.
// With N == 0 the percentiles are nil ("no data").
type CountStats struct {
	N      int
	Total  int
	Median *float64
	P75    *float64
	P90    *float64
}

// SummarizeCounts returns the total, median, p75 and p90 of counts, with the
// same percentile rule as Summarize.
func SummarizeCounts(counts []int) CountStats {
	s := CountStats{N: len(counts)}
	if s.N == 0 {
		return s
	}
	sorted := slices.Clone(counts)
	slices.Sort(sorted)
	for _, c := range sorted {
		s.Total += c
	}
	s.Median = new(fractile(sorted, 1, 2))
	s.P75 = new(fractile(sorted, 3, 4))
	s.P90 = new(fractile(sorted, 9, 10))
	return s
}

// fractile is percentile for counts, where a fractional result (2.5
// comments) is meaningful and must not be truncated.
func fractile(sorted []int, num, den int) float64 {
	pos := (len(sorted) - 1) * num
	lo, rem := pos/den, pos%den
	v := float64(sorted[lo])
	if rem != 0 {
		v += float64(sorted[lo+1]-sorted[lo]) * float64(rem) / float64(den)
	}
	return v
}

// Rate is a share such as the change failure rate: Count of N. With N == 0
// Value is nil ("no data").
type Rate struct {
	N     int
	Count int
	Value *float64
}

func newRate(count, n int) Rate {
	r := Rate{N: n, Count: count}
	if n > 0 {
		r.Value = new(float64(count) / float64(n))
	}
	return r
}
