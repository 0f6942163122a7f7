package collect_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestBackfillResumes stops a backfill twice, as a killed process would
// (the context is cancelled when the n-th request goes out, mid-transaction
// or mid-page), and runs it again: the final rows equal those of an
// uninterrupted backfill, and the resumed runs together call the API less
// than a fresh backfill does.
func TestBackfillResumes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim, now, fresh := freshBackfill(t, db)
		freshCalls := fresh.calls.n.Load()

		e := newSimEnv(t, db, sim, "resumed", now)
		var before int64
		for _, stopAt := range []int64{freshCalls / 4, freshCalls / 2} {
			err := e.backfillUntil(stopAt)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("backfill stopped at call %d: want context.Canceled, got %v", stopAt, err)
			}
			ps, perr := collect.Progress(context.Background(), db, e.key, azure.Resources)
			if perr != nil {
				t.Fatal(perr)
			}
			for _, p := range ps {
				if p.Finished != nil {
					t.Fatalf("project %s finished although stopped", p.ProjectID)
				}
			}
			t.Logf("stopped after %d calls; progress %.0f%%, estimate %s left", e.calls.n.Load(), 100*ps[0].Fraction, ps[0].Remaining)
			before = e.calls.n.Load()
		}
		e.calls.cancelAt.Store(0)
		if err := e.backfill(context.Background()); err != nil {
			t.Fatal(err)
		}
		resumed := e.calls.n.Load()
		t.Logf("fresh backfill: %d calls; interrupted twice and resumed: %d calls (%d after the last stop)",
			freshCalls, resumed, resumed-before)
		if resumed-before >= freshCalls {
			t.Errorf("the last resumed run made %d calls, a fresh one %d: nothing was resumed", resumed-before, freshCalls)
		}
		a, b := fresh.dump(), e.dump()
		if !slices.Equal(a, b) {
			t.Errorf("resumed rows differ: %d vs %d rows; only fresh %v; only resumed %v", len(a), len(b), head(diff(a, b)), head(diff(b, a)))
		}
		e.compareWithTruth(e.window())
	})
}

// TestBackfillTokenRevokedMidway: the token stops working in the middle of
// a backfill; the backfill stops with an unauthorized error and records
// the failed run, nothing half-written; once the token works again (Update
// token) it resumes and ends with the same rows as an uninterrupted one.
func TestBackfillTokenRevokedMidway(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim, now, fresh := freshBackfill(t, db)
		e := newSimEnv(t, db, sim, "revoked", now)
		e.calls.revokeAt.Store(fresh.calls.n.Load() / 2)
		err := e.backfill(context.Background())
		if delivery.KindOf(err) != delivery.KindUnauthorized {
			t.Fatalf("want an unauthorized error, got %v", err)
		}
		runs, rerr := db.ListSyncRuns(context.Background(), e.key, 0)
		if rerr != nil || len(runs) == 0 || runs[0].Error == "" {
			t.Fatalf("the failed run is not recorded: %+v %v", runs, rerr)
		}
		e.calls.revokeAt.Store(0)
		if err := e.backfill(context.Background()); err != nil {
			t.Fatal(err)
		}
		a, b := fresh.dump(), e.dump()
		if !slices.Equal(a, b) {
			t.Errorf("rows differ after the token came back: only fresh %v; only resumed %v", head(diff(a, b)), head(diff(b, a)))
		}
	})
}

// TestProgressMovesWhileCommitsAreRead: commits come with no total, so the
// bar once stood still through the whole commits step (an eighth of the
// way, for as long as a large organization's history takes). Stopped at
// many points, each project's commits share only grows, and it is seen
// strictly between 0 and 1 while the step runs.
func TestProgressMovesWhileCommitsAreRead(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim, now, fresh := freshBackfill(t, db)
		calls := fresh.calls.n.Load()
		e := newSimEnv(t, db, sim, "stepped", now)
		last := map[string]float64{}
		midway := 0
		for range 30 { // stops a thirtieth of a backfill's calls apart
			_ = e.backfillUntil(e.calls.n.Load() + max(4, calls/30))
			ps, err := collect.Progress(context.Background(), db, e.key, azure.Resources)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				for _, r := range p.Resources {
					if r.Resource != "commits" || r.Finished != nil {
						continue
					}
					if r.Share < last[p.ProjectID] {
						t.Fatalf("project %s: commits share went back from %.2f to %.2f", p.ProjectID, last[p.ProjectID], r.Share)
					}
					last[p.ProjectID] = r.Share
					if r.Share > 0 && r.Share < 1 {
						midway++
					}
				}
			}
		}
		if midway == 0 {
			t.Fatal("the commits share was never seen between 0 and 1 while the step ran")
		}
		t.Logf("%d stops saw commits midway; last shares %v", midway, last)
	})
}

// freshBackfill backfills a small simulator's organization once, at a
// frozen time, for a test to compare another backfill of it with.
func freshBackfill(t *testing.T, db *store.DB) (*azdosim.Sim, func() time.Time, *simEnv) {
	t.Helper()
	sim := newSim(t, "small")
	frozen := time.Now()
	now := func() time.Time { return frozen }
	fresh := newSimEnv(t, db, sim, "fresh", now)
	if err := fresh.backfill(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sim, now, fresh
}

// backfillUntil runs a backfill that is cancelled once the environment
// has made stopAt calls in all.
func (e *simEnv) backfillUntil(stopAt int64) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.calls.mu.Lock()
	e.calls.cancel = cancel
	e.calls.mu.Unlock()
	e.calls.cancelAt.Store(stopAt)
	return e.backfill(ctx)
}
