package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/store"
)

// large (opt-in: --only large): the simulator's large profile end to end
// on each engine. A real backfill of the profile's whole span (90 days)
// through the product's own code path, with the simulator's rate limit
// off (Azure DevOps would pace a backfill of this size for hours), then
// the dashboard measured on that database as in the dashboard scenario.
// About 15 minutes on SQLite and longer on PostgreSQL here; --quick runs
// the small profile.
func (b *bench) large(ctx context.Context) error {
	profile, days := "large", 90
	if b.quick {
		profile, days = "small", 60
	}
	return b.eachEngine("large.db", func(engine, dsn string) error {
		now := time.Now().UTC()
		start := time.Now()
		ws, token, items, err := b.backfilled(ctx, dsn, profile, days)
		if err != nil {
			return err
		}
		b.add(Result{Scenario: "large", Name: engine + " backfill", Value: time.Since(start).Seconds(), Unit: "s",
			Note: fmt.Sprintf("the %s profile's %d days, %d items, simulator rate limit off", profile, days, items)})
		if err := b.analyze(ctx, dsn); err != nil {
			return err
		}
		return b.measureDashboard(ctx, "large", dsn, engine, ws, token, now)
	})
}

// backfilled connects a simulator of the profile to a fresh server on dsn,
// as an admin does, and returns once the backfill of every project has
// finished, with the workspace, an API token of its admin and the items
// collected.
func (b *bench) backfilled(ctx context.Context, dsn, profile string, days int) (ws, token string, items int64, err error) {
	sim, a, stop, ws, err := b.connected(ctx, dsn, profile, azdosim.FaultConfig{RateLimit: &azdosim.RateLimitConfig{Limit: 0}},
		"PANDEV_BACKFILL_DAYS", fmt.Sprint(days))
	if err != nil {
		return "", "", 0, err
	}
	defer sim.Close()
	defer stop()
	ins, err := a.db.ListIntegrations(ctx, ws, "azure-devops")
	if err != nil || len(ins) == 0 {
		return "", "", 0, fmt.Errorf("no integration after connecting: %v", err)
	}
	key := store.Key{IntegrationID: ins[0].ID, WorkspaceID: ws}
	if items, err = b.waitBackfilled(ctx, a, key, 2*time.Hour); err != nil {
		return "", "", 0, err
	}
	users, err := a.db.ListUsers(ctx, ws)
	if err != nil || len(users) == 0 {
		return "", "", 0, fmt.Errorf("no admin: %v", err)
	}
	tok, _, err := a.auth.CreateToken(ctx, users[0].ID, "bench")
	if err != nil {
		return "", "", 0, err
	}
	return ws, tok.Reveal(), items, nil
}

// analyze gives the planner its statistics, as autovacuum (PostgreSQL)
// or a periodic ANALYZE would have them, before baselines are measured.
func (b *bench) analyze(ctx context.Context, dsn string) error {
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.SQL().ExecContext(ctx, "ANALYZE")
	return err
}
