package collect_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// testWiqlLimit is the lowered WIQL result cap of these tests (20,000 in
// Azure DevOps).
const testWiqlLimit = 25

// workItemsPerProject counts the truth's work items changed since from, by
// project name.
func (e *simEnv) workItemsPerProject(from time.Time) map[string]int {
	n := map[string]int{}
	for _, w := range e.truth("work_items", from) {
		n[fmt.Sprint(w["project"])]++
	}
	return n
}

// TestBackfillSplitsWiqlAtCap backfills an organization with hundreds of
// work items changed in the window per project while the simulator refuses
// WIQL results over 25 (VS402337): the work items (and everything else)
// equal the truth, and the rows equal those of a backfill under the
// service's cap, which needs one query per project.
func TestBackfillSplitsWiqlAtCap(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSimWith(t, azdosim.Options{Profile: "boards", WiqlLimit: testWiqlLimit})
		ctx := context.Background()
		frozen := time.Now()
		now := func() time.Time { return frozen }
		capped := newSimEnv(t, db, sim, "capped", now)
		if err := capped.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		from := capped.window()
		per := capped.workItemsPerProject(from)
		for _, p := range capped.projects {
			if per[p.Name] < 8*testWiqlLimit {
				t.Fatalf("project %s: %d work items changed in the window, the test wants many more than the cap %d", p.Name, per[p.Name], testWiqlLimit)
			}
		}
		capped.compareWithTruth(from)
		t.Logf("work items changed in the window %v; capped backfill: %d WIQL queries, %d API calls", per, capped.calls.wiql.Load(), capped.calls.n.Load())
		if capped.calls.wiql.Load() <= int64(len(capped.projects)) {
			t.Errorf("%d WIQL queries for %d projects: nothing was split", capped.calls.wiql.Load(), len(capped.projects))
		}

		sim.SetWiqlLimit(0)
		full := newSimEnv(t, db, sim, "uncapped", now)
		if err := full.backfill(ctx); err != nil {
			t.Fatal(err)
		}
		if n := full.calls.wiql.Load(); n != int64(len(full.projects)) {
			t.Errorf("%d WIQL queries under the service's cap, want one per project (%d)", n, len(full.projects))
		}
		a, b := capped.dump(), full.dump()
		if !slices.Equal(a, b) {
			t.Errorf("rows differ: %d capped vs %d uncapped; only capped %v; only uncapped %v", len(a), len(b), head(diff(a, b)), head(diff(b, a)))
		}
	})
}

// TestBackfillResumesWithSplitWiql stops a backfill several times in the
// middle of its split work item queries (the context is cancelled when the
// n-th WIQL query goes out), as a killed process would, and runs it again:
// the rows equal those of an uninterrupted backfill.
func TestBackfillResumesWithSplitWiql(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSimWith(t, azdosim.Options{Profile: "boards", WiqlLimit: testWiqlLimit})
		frozen := time.Now()
		now := func() time.Time { return frozen }
		fresh := newSimEnv(t, db, sim, "fresh", now)
		if err := fresh.backfill(context.Background()); err != nil {
			t.Fatal(err)
		}
		queries := fresh.calls.wiql.Load()
		e := newSimEnv(t, db, sim, "resumed", now)
		for _, at := range []int64{queries / 4, queries / 2, 3 * queries / 4} {
			ctx, cancel := context.WithCancel(context.Background())
			e.calls.mu.Lock()
			e.calls.cancel = cancel
			e.calls.mu.Unlock()
			e.calls.wiql.Store(0)
			e.calls.cancelAtWiql.Store(at)
			err := e.backfill(ctx)
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("backfill stopped at WIQL query %d: want context.Canceled, got %v", at, err)
			}
		}
		e.calls.cancelAtWiql.Store(0)
		if err := e.backfill(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Logf("fresh: %d calls, %d WIQL queries; stopped 3 times and resumed: %d calls", fresh.calls.n.Load(), queries, e.calls.n.Load())
		a, b := fresh.dump(), e.dump()
		if !slices.Equal(a, b) {
			t.Errorf("resumed rows differ: %d vs %d rows; only fresh %v; only resumed %v", len(a), len(b), head(diff(a, b)), head(diff(b, a)))
		}
		e.compareWithTruth(e.window())
	})
}

// advanceSim moves the simulator's clock through its control API.
func advanceSim(t *testing.T, sim *azdosim.Sim, d time.Duration) {
	t.Helper()
	res, err := http.Post(sim.ControlURL()+"/clock", "application/json", strings.NewReader(`{"advance":"`+d.String()+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("advance the clock: HTTP %d", res.StatusCode)
	}
}

// TestReconcileSplitsWiqlAtCap: after a backfill, many more work items than
// the cap change while every webhook delivery is dropped, ten a second; one
// reconciliation splits its query and recovers all of them, and the stored
// data equals the truth.
func TestReconcileSplitsWiqlAtCap(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSimWith(t, azdosim.Options{Profile: "boards", WiqlLimit: testWiqlLimit})
		ctx := context.Background()
		e, from := backfilledDropping(t, db, sim)
		var changed []string
		for i, w := range e.truth("work_items", from) {
			if len(changed) == 4*testWiqlLimit {
				break
			}
			if i%10 == 9 {
				advanceSim(t, sim, time.Second)
			}
			id := int(mustInt(fmt.Sprint(w["id"])))
			if _, err := sim.Activity(azdosim.ActivityRequest{Kind: "work_item_updated", Project: fmt.Sprint(w["project"]), WorkItemID: id}); err != nil {
				t.Fatal(err)
			}
			changed = append(changed, fmt.Sprint(id))
		}
		e.calls.n.Store(0)
		e.calls.wiql.Store(0)
		run, err := e.c.Reconcile(ctx, e.key.IntegrationID)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("reconcile after %d work item changes: %d fetched, %d recovered, %d WIQL queries, %d API calls",
			len(changed), run.ItemsFetched, run.ItemsRecovered, e.calls.wiql.Load(), e.calls.n.Load())
		if run.ItemsRecovered < int64(len(changed)) {
			t.Errorf("recovered %d items; %d work items changed", run.ItemsRecovered, len(changed))
		}
		if e.calls.wiql.Load() <= int64(len(e.projects)) {
			t.Errorf("%d WIQL queries for %d projects: nothing was split", e.calls.wiql.Load(), len(e.projects))
		}
		e.compareWithTruth(from)
		again, err := e.c.Reconcile(ctx, e.key.IntegrationID)
		if err != nil {
			t.Fatal(err)
		}
		if again.ItemsRecovered != 0 {
			t.Errorf("a second reconciliation recovered %d items", again.ItemsRecovered)
		}
	})
}

// TestWiqlCapWithinOneSecond: more work items than the cap change within
// one second; the query cannot be split by time any further, and the
// reconciliation fails with an error that names the project, the problem
// and what to do, with the service's refusal in its chain.
func TestWiqlCapWithinOneSecond(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		fixed := time.Now().Truncate(time.Second) // every activity lands in the same second
		sim := newSimWith(t, azdosim.Options{Profile: "small", Now: func() time.Time { return fixed }})
		ctx := context.Background()
		e, from := backfilledDropping(t, db, sim)
		const limit = 3
		sim.SetWiqlLimit(limit)
		var project string
		n := 0
		for _, w := range e.truth("work_items", from) {
			if project == "" {
				project = fmt.Sprint(w["project"])
			}
			if fmt.Sprint(w["project"]) != project {
				continue
			}
			if _, err := sim.Activity(azdosim.ActivityRequest{Kind: "work_item_updated", Project: project, WorkItemID: int(mustInt(fmt.Sprint(w["id"])))}); err != nil {
				t.Fatal(err)
			}
			if n++; n > limit {
				break
			}
		}
		_, err := e.c.Reconcile(ctx, e.key.IntegrationID)
		var de *delivery.Error
		if !errors.As(err, &de) || de.Kind != delivery.KindUpstream {
			t.Fatalf("err = %v, want an upstream *delivery.Error", err)
		}
		t.Logf("error: %s (hint: %s)", de.Message, de.Hint)
		for _, want := range []string{project, fixed.UTC().Format(time.RFC3339), "within that second", "VS402337"} {
			if !strings.Contains(de.Message, want) {
				t.Errorf("message %q does not name %q", de.Message, want)
			}
		}
		if !strings.Contains(de.Hint, "Deselect the project") {
			t.Errorf("hint %q names no fix", de.Hint)
		}
		var le *azdo.WiqlLimitError
		if !errors.As(err, &le) || le.Limit != limit {
			t.Errorf("the service's refusal is not in the chain: %v", le)
		}
		runs, rerr := db.ListSyncRuns(ctx, e.key, 0)
		if rerr != nil || len(runs) == 0 || !strings.Contains(runs[0].Error, "VS402337") {
			t.Errorf("the failed reconciliation is not recorded: %+v %v", runs, rerr)
		}
	})
}
