package metrics

import (
	"cmp"
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
	return summarizeOwned(slices.Clone(spans))
}

// summarizeOwned is Summarize on a slice it may reorder: windows gather
// spans into a slice of their own, and a year holds about a million.
func summarizeOwned(spans []time.Duration) Stats {
	s := Stats{N: len(spans)}
	if s.N == 0 {
		return s
	}
	for i, d := range spans {
		if d < 0 {
			spans[i] = 0
			s.Clamped++
		}
	}
	selectRanks(spans, ranks(len(spans)))
	s.Median = new(percentile(spans, 1, 2))
	s.P75 = new(percentile(spans, 3, 4))
	s.P90 = new(percentile(spans, 9, 10))
	return s
}

// percentile returns the num/den quantile of values whose ranks (see
// ranks) are in place, interpolating in integers so that results are exact
// (to the nanosecond) and repeatable.
func percentile(sorted []time.Duration, num, den int) time.Duration {
	pos := (len(sorted) - 1) * num
	lo, rem := pos/den, pos%den
	if rem == 0 {
		return sorted[lo]
	}
	return sorted[lo] + (sorted[lo+1]-sorted[lo])*time.Duration(rem)/time.Duration(den)
}

// ranks are the positions of a sorted slice of n values that the median,
// p75 and p90 read, ascending.
func ranks(n int) []int {
	var out []int
	for _, q := range [][2]int{{1, 2}, {3, 4}, {9, 10}} {
		pos := (n - 1) * q[0]
		lo := pos / q[1]
		out = append(out, lo)
		if pos%q[1] != 0 {
			out = append(out, lo+1)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// selectRanks reorders s so that s[r] holds the value a sort would put
// there, for each of the ascending ranks, in expected linear time: a
// summary needs six order statistics, not a sorted million.
func selectRanks[T cmp.Ordered](s []T, ranks []int) {
	base := 0
	for _, r := range ranks {
		if r < base {
			continue
		}
		nth(s[base:], r-base)
		base = r + 1
	}
}

// nth places the k-th smallest value of s at s[k], smaller or equal ones
// before it and greater or equal ones after (quickselect with a three-way
// partition, so runs of equal values stay linear).
func nth[T cmp.Ordered](s []T, k int) {
	for len(s) > 16 {
		// Median of three as the pivot.
		a, b, c := s[0], s[len(s)/2], s[len(s)-1]
		pivot := max(min(a, b), min(max(a, b), c))
		lt, i, gt := 0, 0, len(s)
		for i < gt {
			switch {
			case s[i] < pivot:
				s[lt], s[i] = s[i], s[lt]
				lt++
				i++
			case s[i] > pivot:
				gt--
				s[i], s[gt] = s[gt], s[i]
			default:
				i++
			}
		}
		switch {
		case k < lt:
			s = s[:lt]
		case k >= gt:
			s, k = s[gt:], k-gt
		default:
			return
		}
	}
	slices.Sort(s)
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
	return summarizeCountsOwned(slices.Clone(counts))
}

// summarizeCountsOwned is SummarizeCounts on a slice it may reorder.
func summarizeCountsOwned(sorted []int) CountStats {
	s := CountStats{N: len(sorted)}
	if s.N == 0 {
		return s
	}
	selectRanks(sorted, ranks(len(sorted)))
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
