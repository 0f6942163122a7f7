package dashboard

import (
	"context"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/metrics"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Snapshot is one workspace's figures as of a data version: one compact
// analysis per project, answered together as a metrics.Set. It is
// read-only once built and shared by every request until the data changes.
type Snapshot struct {
	Version string
	Set     metrics.Set
	Scopes  []store.Scope
	// Teams are the workspace's teams as of Version (the data version
	// includes them), for the team filter.
	Teams []store.Team
	// Bounds are the earliest and latest times the data covers (zero when
	// there is no data), for the default window and the empty state.
	First, Last time.Time
	Stats       BuildStats

	projects map[string]projectFacts
	// integrations fingerprints the integrations' sync state and settings:
	// when it moves, every project is analyzed again (rules, backfill start).
	integrations string
	base         metrics.Input // backfill start
	rules        store.WorkspaceRules
	orgURL       string // the Azure DevOps organization, for links
	namesOnce    sync.Once
	nm           names
}

// projectFacts is one project's analyses (one per repository, and one for
// what belongs to none), the repositories' parts they were finished from,
// and the fingerprints of the rows they were computed from.
type projectFacts struct {
	parts store.DataParts
	repos map[string]metrics.RepositoryPart
	set   metrics.Set
	// Names for the drill-downs: deployments by key, PRs by repository.
	deps map[string]deploymentName
	prs  map[string]map[int]prName
}

// BuildStats says what building a snapshot took, for logs and benchmarks.
type BuildStats struct {
	// Reloaded names the projects read and analyzed again; Repositories
	// counts the repositories read (the others' analyses were kept).
	Reloaded     []string
	Repositories int
	Read         time.Duration // reading and mapping rows
	Analyze      time.Duration // the analysis proper
	// The rows read by this build.
	Commits, PullRequests, Deployments, WorkItems int
}

// cache holds one snapshot per workspace and rebuilds it when the
// workspace's data version moves, re-reading only the projects whose
// fingerprints changed. A rebuild runs on its own, not in the request that
// noticed the change: requests wait for it up to freshWait and are then
// answered from the last snapshot, so a large project's re-read (seconds
// at a million commits) never holds the dashboard.
type cache struct {
	db           Reader
	now          func() time.Time
	logger       *slog.Logger
	backfillDays int
	freshWait    time.Duration
	base         context.Context // cancelled by close: ends running builds
	stop         context.CancelFunc

	mu         sync.Mutex
	workspaces map[string]*entry
}

type entry struct {
	mu   sync.Mutex
	snap *Snapshot
	used time.Time
	// building is closed when the running build ends; nil when none runs.
	building chan struct{}
	err      error // of the last build
}

// buildTimeout bounds one rebuild.
const buildTimeout = 10 * time.Minute

func newCache(db Reader, now func() time.Time, logger *slog.Logger, backfillDays int, freshWait time.Duration) *cache {
	base, stop := context.WithCancel(context.Background())
	return &cache{db: db, now: now, logger: logger, backfillDays: backfillDays, freshWait: freshWait, base: base, stop: stop,
		workspaces: map[string]*entry{}}
}

func (c *cache) close() { c.stop() }

// current is the version of the workspace's last built snapshot, "" when
// none; it neither reads the store nor builds.
func (c *cache) current(ws string) string {
	c.mu.Lock()
	e := c.workspaces[ws]
	c.mu.Unlock()
	if e == nil {
		return ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap == nil {
		return ""
	}
	return e.snap.Version
}

// inboxSince is the inbox horizon of the data version, truncated to the
// hour so that it moves (and changes the version) at most once an hour.
func (c *cache) inboxSince() time.Time {
	return c.now().UTC().Truncate(time.Hour).Add(-24 * time.Hour)
}

// Get returns the workspace's snapshot for its current data version. When
// the data changed since the last build, it starts a build (unless one
// runs) and waits for it; with an older snapshot at hand it waits at most
// freshWait and then answers from that one.
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
	e.used = c.now()
	if e.snap != nil && e.snap.Version == dv.String() {
		defer e.mu.Unlock()
		return e.snap, nil
	}
	if e.building == nil {
		e.building = make(chan struct{})
		go c.rebuild(e, ws, dv, e.snap)
	}
	done, stale := e.building, e.snap
	e.mu.Unlock()

	var timeout <-chan time.Time
	if stale != nil {
		t := time.NewTimer(c.freshWait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-done:
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.snap == nil { // the first build failed: nothing to answer from
			return nil, e.err
		}
		return e.snap, nil // new figures, or the last ones if the build failed (logged)
	case <-timeout:
		return stale, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// rebuild builds e's next snapshot from prev and publishes it.
func (c *cache) rebuild(e *entry, ws string, dv store.DataVersion, prev *Snapshot) {
	ctx, cancel := context.WithTimeout(c.base, buildTimeout)
	defer cancel()
	snap, err := c.build(ctx, ws, dv, prev)
	if err != nil {
		c.logger.Warn("dashboard: building the figures failed", "workspace", ws, "err", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		e.snap = snap
	}
	e.err = err
	close(e.building)
	e.building = nil
}

// evictIdle forgets workspaces nobody asked about for an hour, so a server
// with many workspaces keeps only the active ones in memory. c.mu is held.
func (c *cache) evictIdle(keep string) {
	for ws, e := range c.workspaces {
		if ws != keep && e.mu.TryLock() {
			if e.building == nil && !e.used.IsZero() && c.now().Sub(e.used) > time.Hour {
				delete(c.workspaces, ws)
			}
			e.mu.Unlock()
		}
	}
}

// releaseAfter is how many commits a build reads before it hands the
// memory of the rows back to the operating system: reading a large
// project's history costs a few hundred megabytes for a moment, and the
// server should not keep them as resident memory once the compact analysis
// is built.
const releaseAfter = 50_000

// build re-reads and analyzes the projects whose fingerprints moved since
// prev (all of them when prev is nil or the integrations changed), one at a
// time, so that only one project's rows are in memory at once.
func (c *cache) build(ctx context.Context, ws string, dv store.DataVersion, prev *Snapshot) (*Snapshot, error) {
	start := time.Now()
	parts, err := c.db.ProjectParts(ctx, ws)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Version: dv.String(), integrations: dv.Integrations, projects: make(map[string]projectFacts, len(parts))}
	full := prev == nil || prev.integrations != dv.Integrations
	if full {
		if snap.base, snap.orgURL, err = c.baseInput(ctx, ws); err != nil {
			return nil, err
		}
		// The workspace's rules, and each project's own; a change moves
		// the data version's Integrations part, so they are re-read.
		if snap.rules, err = c.db.GetWorkspaceRules(ctx, ws); err != nil {
			return nil, err
		}
	} else {
		snap.base, snap.rules, snap.orgURL = prev.base, prev.rules, prev.orgURL
	}
	for _, project := range slices.Sorted(maps.Keys(parts)) {
		cur := parts[project]
		old, ok := prev.project(project)
		if ok && !full && old.parts.Equal(cur) {
			snap.projects[project] = old
			continue
		}
		// Rules, collected-since, work items and runs feed every repository's
		// analysis; when they stand, a repository whose rows did not move
		// keeps its analysis.
		var keep map[string]metrics.RepositoryPart
		if ok && !full && old.parts.WorkItems == cur.WorkItems && old.parts.Runs == cur.Runs &&
			old.parts.CollectedSince.Equal(cur.CollectedSince) {
			keep = map[string]metrics.RepositoryPart{}
			for repo, part := range old.repos {
				if fp, ok := cur.Repositories[repo]; ok && fp == old.parts.Repositories[repo] {
					keep[repo] = part
				}
			}
		}
		in := snap.base
		in.Project = project
		in.Rules = snap.rules.For(project).RulesOrDefault()
		if !cur.CollectedSince.IsZero() {
			in.CollectedSince = cur.CollectedSince
		}
		var keepNames map[string]map[int]prName
		if keep != nil {
			keepNames = old.prs
		}
		facts, err := analyzeProject(ctx, c.db, ws, project, in, keep, keepNames, &snap.Stats)
		if err != nil {
			return nil, err
		}
		facts.parts = cur
		snap.Stats.Reloaded = append(snap.Stats.Reloaded, project)
		snap.projects[project] = facts
	}
	for _, project := range slices.Sorted(maps.Keys(snap.projects)) {
		snap.Set = append(snap.Set, snap.projects[project].set...)
	}
	if snap.Scopes, err = c.db.ListScopes(ctx, ws); err != nil {
		return nil, err
	}
	if snap.Teams, err = c.db.ListTeams(ctx, ws); err != nil {
		return nil, err
	}
	snap.First, snap.Last = snap.Set.Bounds()
	snap.Stats.Read = time.Since(start) - snap.Stats.Analyze
	if snap.Stats.Commits >= releaseAfter {
		debug.FreeOSMemory()
	}
	c.logger.Debug("dashboard snapshot built", "workspace", ws, "reloaded", snap.Stats.Reloaded,
		"repositories", snap.Stats.Repositories, "read", snap.Stats.Read, "analyze", snap.Stats.Analyze,
		"commits", snap.Stats.Commits)
	return snap, nil
}

// project returns the previous snapshot's facts of a project.
func (s *Snapshot) project(id string) (projectFacts, bool) {
	if s == nil {
		return projectFacts{}, false
	}
	p, ok := s.projects[id]
	return p, ok
}

// baseInput is what every project's input shares: the collected-since of
// a project that has none recorded; and the organization URL the
// drill-downs link to.
func (c *cache) baseInput(ctx context.Context, ws string) (metrics.Input, string, error) {
	ins, err := c.db.ListIntegrations(ctx, ws, "")
	if err != nil {
		return metrics.Input{}, "", err
	}
	org := ""
	base := metrics.Input{Rules: delivery.DefaultRules()}
	for _, in := range ins {
		if in.Provider == providerAzure {
			org = in.OrgURL // GitHub rows link through their repositories' html_url
		}
		// Collected-since of a project whose own is not recorded yet (a
		// project backfilled before it was): the integration's creation
		// minus the backfill days.
		from := in.CreatedAt.UTC().AddDate(0, 0, -c.backfillDays)
		if base.CollectedSince.IsZero() || from.Before(base.CollectedSince) {
			base.CollectedSince = from
		}
	}
	return base, org, nil
}
