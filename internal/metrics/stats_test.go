package metrics

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name             string
		spans            []time.Duration
		n, clamped       int
		median, p75, p90 *time.Duration
	}{
		{name: "no items is no data, not zero", spans: nil},
		{name: "one item", spans: []time.Duration{hours(3)}, n: 1,
			median: dur(hours(3)), p75: dur(hours(3)), p90: dur(hours(3))},
		{name: "odd count takes the middle", spans: []time.Duration{hours(5), hours(1), hours(3)}, n: 3,
			// sorted 1,3,5: p75 at rank 1.5 → 4h, p90 at rank 1.8 → 4.6h
			median: dur(hours(3)), p75: dur(hours(4)), p90: dur(4*time.Hour + 36*time.Minute)},
		{name: "even count median is the mean of the two middle values",
			spans: []time.Duration{hours(4), hours(1), hours(10), hours(2)}, n: 4,
			// sorted 1,2,4,10: median (2+4)/2 = 3h; p75 rank 2.25 → 4+0.25·6 = 5.5h;
			// p90 rank 2.7 → 4+0.7·6 = 8.2h
			median: dur(hours(3)), p75: dur(hours(5.5)), p90: dur(8*time.Hour + 12*time.Minute)},
		{name: "negative spans are clamped to zero and counted",
			spans: []time.Duration{-hours(2), hours(2), -time.Second}, n: 3, clamped: 2,
			// sorted 0,0,2: p75 rank 1.5 → 1h; p90 rank 1.8 → 1.6h
			median: dur(0), p75: dur(hours(1)), p90: dur(hours(1.6))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.spans)
			if s.N != tt.n || s.Clamped != tt.clamped {
				t.Errorf("n, clamped = %d, %d; want %d, %d", s.N, s.Clamped, tt.n, tt.clamped)
			}
			if s.NoData() != (tt.n == 0) {
				t.Errorf("NoData = %v", s.NoData())
			}
			for _, c := range []struct {
				name      string
				got, want *time.Duration
			}{{"median", s.Median, tt.median}, {"p75", s.P75, tt.p75}, {"p90", s.P90, tt.p90}} {
				if durOrNil(c.got) != durOrNil(c.want) {
					t.Errorf("%s = %v, want %v", c.name, durOrNil(c.got), durOrNil(c.want))
				}
			}
		})
	}
}

func TestSummarizeCounts(t *testing.T) {
	s := SummarizeCounts([]int{3, 1, 2, 10})
	if s.N != 4 || s.Total != 16 || *s.Median != 2.5 || *s.P75 != 4.75 {
		t.Errorf("got n=%d total=%d median=%v p75=%v; want 4 16 2.5 4.75", s.N, s.Total, *s.Median, *s.P75)
	}
	if e := SummarizeCounts(nil); e.Median != nil || e.N != 0 {
		t.Errorf("empty counts: %+v, want no data", e)
	}
}

// TestSummarizeMedianWithinRange is a property: for any spans, the
// percentiles lie within the clamped minimum and maximum and are ordered.
func TestSummarizeMedianWithinRange(t *testing.T) {
	for seed := range 200 {
		var spans []time.Duration
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for i := range seed%17 + 1 {
			d := time.Duration((seed*7919+i*104729)%100000-20000) * time.Second
			spans = append(spans, d)
			lo, hi = min(lo, clamp(d)), max(hi, clamp(d))
		}
		s := Summarize(spans)
		if *s.Median < lo || *s.P90 > hi || *s.Median > *s.P75 || *s.P75 > *s.P90 {
			t.Fatalf("seed %d: median %v p75 %v p90 %v outside [%v, %v] or unordered", seed, *s.Median, *s.P75, *s.P90, lo, hi)
		}
	}
}
