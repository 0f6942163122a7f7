// Package membudget holds a server's Go memory to a budget: a soft limit
// for the garbage collector (Go's GOMEMLIMIT) that the server raises by
// itself when the data it must keep outgrows it, so that a large
// organization costs memory rather than a collector running without end.
//
// Most of a PanDev Metrics server's heap is the dashboard's long-lived
// figures (about 56 MB at a million commits); what comes and goes is a
// build's rows and a request's buffers. A soft limit lets the collector
// run more often only when the heap nears the budget, where a lower GOGC
// would make every collection more frequent.
package membudget

import (
	"context"
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Default is the soft limit of Go's memory unless GOMEMLIMIT is set: with
// the binary's mapped pages and SQLite's own memory, the process stays
// near 150 MB resident at a million commits (docs/performance.md).
const Default = 100 << 20

// Headroom is the share of the limit the live heap may take before the
// limit is raised: above it, collections would follow each other closely.
const Headroom = 0.85

// Budget is the limit in force and whether the server may move it.
type Budget struct {
	limit    int64
	adaptive bool // false when GOMEMLIMIT was set: the operator's word stands
	logger   *slog.Logger
	live     []metrics.Sample
	over     int // checks in a row that found the live heap above Headroom
}

// Apply sets the default limit unless getenv("GOMEMLIMIT") is set, and
// returns the budget to Watch.
func Apply(getenv func(string) string, logger *slog.Logger) *Budget {
	b := &Budget{logger: logger, live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	if getenv("GOMEMLIMIT") != "" {
		b.limit = debug.SetMemoryLimit(-1)
		return b
	}
	b.limit, b.adaptive = Default, true
	debug.SetMemoryLimit(b.limit)
	return b
}

// Limit is the soft limit in force, in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Sustained is how many checks in a row must find the live heap above
// Headroom before the limit is raised: a dashboard build holds a project's
// rows for a few seconds, which the collector can absorb; figures that
// stay are what need a larger budget.
const Sustained = 3

// Check raises the limit when the live heap (as of the last collection)
// has taken more than Headroom of it for Sustained checks in a row: to
// the live heap divided by Headroom squared, so that it takes about 72 %
// of the new limit. It never lowers the limit. It reports whether it
// raised it.
func (b *Budget) Check() bool {
	if !b.adaptive {
		return false
	}
	metrics.Read(b.live)
	live := b.live[0].Value.Uint64()
	if float64(live) <= Headroom*float64(b.limit) {
		b.over = 0
		return false
	}
	if b.over++; b.over < Sustained {
		return false
	}
	b.over = 0
	next := int64(math.Ceil(float64(live) / (Headroom * Headroom)))
	b.logger.Info("memory: raising the soft limit; the figures kept in memory need more than it allowed",
		"live_mb", live>>20, "from_mb", b.limit>>20, "to_mb", next>>20,
		"fix", "set GOMEMLIMIT to choose the budget yourself")
	b.limit = next
	debug.SetMemoryLimit(next)
	return true
}

// Watch checks every interval until ctx ends.
func (b *Budget) Watch(ctx context.Context, interval time.Duration) {
	if !b.adaptive {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.Check()
		}
	}
}
