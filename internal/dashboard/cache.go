package dashboard

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/metrics"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Snapshot is one workspace's data as of a data version, analyzed. It is
// read-only once built and shared by every request until the data changes.
type Snapshot struct {
	Version  string
	Analysis *metrics.Analysis
	Scopes   []store.Scope
	// Bounds are the earliest and latest times the data covers (zero when
	// there is no data), for the default window and the empty state.
	First, Last time.Time
	Stats       BuildStats

	parts store.DataParts
	in    metrics.Input
	links map[string][]int
	// integrations fingerprints the integrations' sync state and settings:
	// when it moves, everything is read again (rules or late change counts).
	integrations string
}

// BuildStats says what building a snapshot took, for logs and benchmarks.
type BuildStats struct {
	// Reloaded names the kinds of rows read again: all four on a full read.
	Reloaded                                      []string
	Read                                          time.Duration // reading and mapping rows
	Analyze                                       time.Duration // metrics.Analyze
	Commits, PullRequests, Deployments, WorkItems int
}

// cache holds one snapshot per workspace and rebuilds it when the
// workspace's data version moves, re-reading only the kinds of rows whose
// fingerprint changed.
type cache struct {
	db           Reader
	now          func() time.Time
	logger       *slog.Logger
	backfillDays int

	mu         sync.Mutex
	workspaces map[string]*entry
}

type entry struct {
	mu   sync.Mutex // held while building; readers of snap take it too
	snap *Snapshot
	used time.Time
}

func newCache(db Reader, now func() time.Time, logger *slog.Logger, backfillDays int) *cache {
	return &cache{db: db, now: now, logger: logger, backfillDays: backfillDays, workspaces: map[string]*entry{}}
}

// inboxSince is the inbox horizon of the data version, truncated to the
// hour so that it moves (and changes the version) at most once an hour.
func (c *cache) inboxSince() time.Time {
	return c.now().UTC().Truncate(time.Hour).Add(-24 * time.Hour)
}

// version returns the workspace's current data version.
func (c *cache) version(ctx context.Context, ws string) (string, error) {
	v, err := c.db.DataVersion(ctx, ws, c.inboxSince())
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// Get returns the workspace's snapshot for its current data version,
// building it when the data changed since the last call.
func (c *cache) Get(ctx context.Context, ws string) (*Snapshot, error) {
	dv, err := c.db.DataVersion(ctx, ws, c.inboxSince())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	e := c.workspaces[ws]
	if e == nil {
		e = &entry{}
		c.workspaces[ws] = e
	}
	c.evictIdle(ws)
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	e.used = c.now()
	if e.snap != nil && e.snap.Version == dv.String() {
		return e.snap, nil
	}
	snap, err := c.build(ctx, ws, dv, e.snap)
	if err != nil {
		return nil, err
	}
	e.snap = snap
	return snap, nil
}

// evictIdle forgets workspaces nobody asked about for an hour, so a server
// with many workspaces keeps only the active ones in memory. c.mu is held.
func (c *cache) evictIdle(keep string) {
	for ws, e := range c.workspaces {
		if ws != keep && e.mu.TryLock() {
			if !e.used.IsZero() && c.now().Sub(e.used) > time.Hour {
				delete(c.workspaces, ws)
			}
			e.mu.Unlock()
		}
	}
}

// build reads what changed since prev (everything when prev is nil or the
// integrations changed) and analyzes the result.
func (c *cache) build(ctx context.Context, ws string, dv store.DataVersion, prev *Snapshot) (*Snapshot, error) {
	start := time.Now()
	parts, err := c.db.DataParts(ctx, ws)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Version: dv.String(), parts: parts, integrations: dv.Integrations}
	full := prev == nil || prev.integrations != dv.Integrations
	if !full {
		snap.in, snap.links, snap.Scopes = prev.in, prev.links, prev.Scopes
		if parts == prev.parts {
			// The version moved (an ignored event, a checkpoint) but no row
			// kind did: the analysis still holds.
			snap.Analysis, snap.First, snap.Last, snap.Stats = prev.Analysis, prev.First, prev.Last, prev.Stats
			snap.Stats.Reloaded = nil
			return snap, nil
		}
	}
	reload := func(kind string, changed bool) bool {
		if full || changed {
			snap.Stats.Reloaded = append(snap.Stats.Reloaded, kind)
			return true
		}
		return false
	}
	linksChanged := false
	if reload("work_items", full || parts.WorkItems != prev.parts.WorkItems) {
		if snap.in.WorkItems, snap.links, err = loadWorkItems(ctx, c.db, ws); err != nil {
			return nil, err
		}
		linksChanged = true
	}
	if reload("commits", full || parts.Commits != prev.parts.Commits) {
		if snap.in.Commits, err = loadCommits(ctx, c.db, ws, snap.links); err != nil {
			return nil, err
		}
	} else if linksChanged {
		// Links live on the commits: give copies their new work items rather
		// than reading the commits again (the previous analysis keeps
		// pointers into the old slice, so it is not changed in place).
		snap.in.Commits = relinkCommits(prev.in.Commits, snap.links)
	}
	if reload("pull_requests", full || parts.PullRequests != prev.parts.PullRequests || linksChanged) {
		if snap.in.PullRequests, err = loadPullRequests(ctx, c.db, ws, snap.links); err != nil {
			return nil, err
		}
	}
	if reload("deployments", full || parts.Deployments != prev.parts.Deployments) {
		if snap.in.Deployments, err = loadDeployments(ctx, c.db, ws); err != nil {
			return nil, err
		}
		if snap.Scopes, err = c.db.ListScopes(ctx, ws); err != nil {
			return nil, err
		}
	}
	if full {
		ins, err := c.db.ListIntegrations(ctx, ws, "")
		if err != nil {
			return nil, err
		}
		snap.in.Rules = delivery.DefaultRules()
		for _, in := range ins {
			// The workspace's integration rules (one Azure DevOps
			// integration per workspace today); a settings change moves
			// the data version, so this is re-read after every change.
			snap.in.Rules = store.ParseSettings(in.Settings).RulesOrDefault()
			from := in.CreatedAt.UTC().AddDate(0, 0, -c.backfillDays)
			if snap.in.BackfillFrom.IsZero() || from.Before(snap.in.BackfillFrom) {
				snap.in.BackfillFrom = from
			}
		}
	}
	snap.Stats.Read = time.Since(start)
	started := time.Now()
	snap.Analysis = metrics.Analyze(snap.in)
	snap.Stats.Analyze = time.Since(started)
	snap.First, snap.Last = bounds(snap.in)
	snap.Stats.Commits, snap.Stats.PullRequests = len(snap.in.Commits), len(snap.in.PullRequests)
	snap.Stats.Deployments, snap.Stats.WorkItems = len(snap.in.Deployments), len(snap.in.WorkItems)
	c.logger.Debug("dashboard snapshot built", "workspace", ws, "reloaded", snap.Stats.Reloaded,
		"read", snap.Stats.Read, "analyze", snap.Stats.Analyze, "commits", snap.Stats.Commits)
	return snap, nil
}

// relinkCommits returns a copy of the commit headers with work items from links.
func relinkCommits(commits []delivery.Commit, links map[string][]int) []delivery.Commit {
	out := make([]delivery.Commit, len(commits))
	for i, c := range commits {
		c.WorkItemIDs = links[c.RepositoryID+":"+c.SHA]
		out[i] = c
	}
	return out
}

// bounds is the span of deployment finishes and PR merges.
func bounds(in metrics.Input) (first, last time.Time) {
	note := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	for _, d := range in.Deployments {
		note(d.FinishedAt)
	}
	for _, p := range in.PullRequests {
		note(p.ClosedAt)
	}
	return first, last
}
