package metrics

import (
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Coverage is how much of a window was collected (METRICS.md "Coverage").
// Before a project's collected-since instant nothing was collected, which is
// not the same as nothing happening: figures count each project's items
// from its own collected-since on, and rates divide by the covered time.
type Coverage struct {
	// Share is the covered part of the window, 0–1: each project's covered
	// share of the window, averaged over the projects the window's filter
	// selects. 0 when the set holds no project.
	Share float64
	// Since is the earliest collected-since of those projects (zero when
	// every one was collected forever); Complete is the instant from which
	// every one of them is covered, at least the window's start.
	Since, Complete time.Time
}

// Whole reports whether the window was collected in full, which a trend
// needs of the previous window.
func (c Coverage) Whole() bool { return c.Share >= 1 }

// covered is the covered time of the window: Share of its length, the
// denominator of rates over time.
func (c Coverage) covered(w delivery.Window) time.Duration {
	return time.Duration(c.Share * float64(w.Duration()))
}

// Coverage returns the coverage of w by the projects of the set that its
// project filter selects (a repository filter is taken at its project's
// coverage).
func (s Set) Coverage(w delivery.Window) Coverage {
	length := w.Duration()
	out := Coverage{}
	var sum float64
	n := 0
	seen := make(map[string]bool, 4)
	complete := w.From
	for _, a := range s {
		// An analysis of no named project (Analyze of a bare Input) covers
		// whatever the filter selects.
		if seen[a.project] || a.project != "" && !w.MatchesProject(a.project) {
			continue
		}
		seen[a.project] = true
		n++
		part := a.clip(w)
		if length > 0 {
			sum += float64(part.Duration()) / float64(length)
		} else {
			sum++
		}
		if a.since != 0 {
			since := fromNanos(a.since)
			if out.Since.IsZero() || since.Before(out.Since) {
				out.Since = since
			}
		}
		if part.From.After(complete) {
			complete = part.From
		}
	}
	if n == 0 {
		return out
	}
	out.Share, out.Complete = sum/float64(n), complete
	return out
}
