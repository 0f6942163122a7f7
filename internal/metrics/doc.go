// Package metrics computes the figures of ../shared/METRICS.md — the four
// DORA keys with their benchmark bands, pull-request flow, work item lead
// time and incident attribution — as pure functions over delivery values.
// It does no I/O and keeps no state between calls, so the facts layer, the
// API and the tests all get the same answer from the same data.
//
// Start with Analyze, which classifies deployments, walks the commit graph
// and attributes incidents once; the Analysis it returns then answers
// DORA, PullRequests, WorkItems, Incidents and Series for any window. A
// server analyzes each project a repository at a time with ProjectBuilder
// and answers windows over all of them with a Set, which gives the same
// figures with only one repository's commits in memory at a time.
package metrics

import "github.com/pandev-metrics/pandev/internal/delivery"

// Version is the definition version of METRICS.md these computations
// implement; every result carries it so a figure can be traced to its rules.
const Version = "metrics-v2"

// BandYear is the year of the DORA report whose benchmark table the bands use.
const BandYear = 2023

// Meta identifies the definitions a result was computed with and how much
// of its window was collected.
type Meta struct {
	Version  string // always Version
	BandYear int    // always BandYear
	Coverage Coverage
}

func (s Set) meta(w delivery.Window) Meta {
	return Meta{Version: Version, BandYear: BandYear, Coverage: s.Coverage(w)}
}
