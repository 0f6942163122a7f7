package metrics

import (
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Interval is the bucket size of a time series.
type Interval string

// Intervals. Days and weeks are UTC; weeks start on Monday (ISO 8601).
const (
	Day  Interval = "day"
	Week Interval = "week"
)

// Series is the DORA keys per day or week of a window.
type Series struct {
	Meta
	Window   delivery.Window
	Interval Interval
	Points   []Point
}

// Point is one bucket of a series: [Start, End), clipped to the window, so
// the first and last buckets may be partial.
type Point struct {
	Start, End        time.Time
	Deployments       int
	DeployDays        int
	LeadTime          Stats
	ChangeFailureRate Rate
	Recovery          Stats
	// Coverage is the bucket's: a bucket before collection is unknown,
	// not a bucket without deployments.
	Coverage Coverage
}

// Series computes the DORA keys for each day or week bucket of w; any
// interval other than Week is taken as Day (the API validates the word).
// Bands are not given per point: a day or a week is too short for them.
func (a *Analysis) Series(w delivery.Window, iv Interval) Series { return Set{a}.Series(w, iv) }

// Series computes the DORA keys per bucket of w across the set.
func (s Set) Series(w delivery.Window, iv Interval) Series {
	out := Series{Meta: s.meta(w), Window: w, Interval: iv}
	for start := bucketStart(w.From, iv); start.Before(w.To); start = nextBucket(start, iv) {
		sub := w
		sub.From, sub.To = later(start, w.From), earlier(nextBucket(start, iv), w.To)
		d := s.DORA(sub)
		out.Points = append(out.Points, Point{
			Start: sub.From, End: sub.To,
			Deployments:       d.DeploymentFrequency.N,
			DeployDays:        d.DeploymentFrequency.DeployDays,
			LeadTime:          d.LeadTime.Stats,
			ChangeFailureRate: d.ChangeFailureRate.Rate,
			Recovery:          d.Recovery.Stats,
			Coverage:          d.Coverage,
		})
	}
	return out
}

// bucketStart truncates t to the start of its UTC day or ISO week.
func bucketStart(t time.Time, iv Interval) time.Time {
	d := utcDay(t)
	if iv == Week {
		d = d.AddDate(0, 0, -(int(d.Weekday())+6)%7)
	}
	return d
}

func nextBucket(start time.Time, iv Interval) time.Time {
	if iv == Week {
		return start.AddDate(0, 0, 7)
	}
	return start.AddDate(0, 0, 1)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
