package collect_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// TestReconcileRecoversDroppedDeliveries backfills, then makes activity in
// the simulator with every webhook delivery dropped: one reconciliation
// brings the stored data back to the truth and its run record counts the
// recovered items; a second one finds nothing missing.
func TestReconcileRecoversDroppedDeliveries(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		e, from := backfilledDropping(t, db, sim)
		// Not work_item_created: the simulator's project work item lists
		// share their backing array, and appending corrupts them.
		var res azdosim.ActivityResult
		for _, kind := range []string{"push", "push", "push", "pull_request_created", "pull_request_created",
			"pull_request_updated", "pull_request_updated", "pr_vote", "pr_vote", "pr_comment", "pull_request_completed",
			"pull_request_completed", "pull_request_abandoned", "pipeline_run", "pipeline_run", "deployment", "deployment",
			"release_deployment", "work_item_updated", "work_item_updated", "work_item_updated"} {
			r, err := sim.Activity(azdosim.ActivityRequest{Kind: kind})
			if err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			res.Items = append(res.Items, r.Items...)
		}
		kinds := map[string]int{}
		for _, it := range res.Items {
			kinds[it.Kind]++
		}
		t.Logf("activity with deliveries dropped: %v", kinds)

		e.calls.n.Store(0)
		run, err := e.c.Reconcile(ctx, e.key.IntegrationID)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("reconcile: %d fetched, %d recovered, %s, %d API calls", run.ItemsFetched, run.ItemsRecovered, run.Duration(), e.calls.n.Load())
		// Every commit, run, PR and work item the activity made or changed was missed.
		missed := map[string]bool{}
		for _, it := range res.Items {
			switch it.Kind {
			case "commit", "pipeline_run", "pull_request", "work_item":
				missed[it.Kind+" "+it.ID] = true
			}
		}
		if run.ItemsRecovered < int64(len(missed)) || run.ItemsRecovered > run.ItemsFetched {
			t.Errorf("recovered %d of %d fetched; the activity changed at least %d", run.ItemsRecovered, run.ItemsFetched, len(missed))
		}
		e.compareWithTruth(from)

		again, err := e.c.Reconcile(ctx, e.key.IntegrationID)
		if err != nil {
			t.Fatal(err)
		}
		if again.ItemsRecovered != 0 {
			t.Errorf("a second reconciliation recovered %d items: the first one left something behind", again.ItemsRecovered)
		}
		runs, err := db.ListSyncRuns(ctx, e.key, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) < 2 || runs[0].Kind != "reconcile" || runs[1].ItemsRecovered != run.ItemsRecovered {
			t.Errorf("sync runs not recorded: %+v", runs)
		}
		in, err := db.GetIntegrationByID(ctx, e.key.IntegrationID)
		if err != nil || in.LastSyncAt == nil || in.LastSyncAt.Before(run.FinishedAt.Add(-time.Second)) {
			t.Errorf("last sync not moved by the reconciliation: %v %v", in.LastSyncAt, err)
		}
	})
}

// TestEnqueueReconciles checks the schedule's fan-out: one reconciliation
// per integration, not stacked up while one is pending.
func TestEnqueueReconciles(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		for range 3 {
			if err := h.collector.EnqueueReconciles(ctx); err != nil {
				t.Fatal(err)
			}
		}
		res, err := h.queue.Client().JobList(ctx, river.NewJobListParams().Kinds("reconcile"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Jobs) != 1 {
			t.Fatalf("%d reconcile jobs, want 1", len(res.Jobs))
		}
		if job := collect.ReconcileSchedule(15 * time.Minute); job == nil {
			t.Fatal("no periodic job")
		}
	})
}

// TestReconcileStoresBackdatedPush pushes commits whose author date is
// days before the backfill window (a rebase or cherry-pick of old work),
// to the default branch and to a new feature branch, with every delivery
// dropped. The truth selects commits by author date, so they are outside
// it, and a reconciliation listing commits by date since the watermark
// would miss them; one reconciliation reading the pushes stores them all,
// with their author and commit dates.
func TestReconcileStoresBackdatedPush(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		e, from := backfilledDropping(t, db, sim)
		authored := from.Add(-10 * 24 * time.Hour).UTC().Truncate(time.Second)
		pushed := map[string]bool{}
		for _, req := range []azdosim.ActivityRequest{
			{Kind: "push", Project: e.projects[0].ProjectID, Commits: 2, AuthorDate: authored.Format(time.RFC3339)},
			{Kind: "push", Project: e.projects[1].ProjectID, Commits: 1, AuthorDate: authored.Format(time.RFC3339), Branch: "feature/old-work"},
		} {
			res, err := sim.Activity(req)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range res.Items {
				if it.Kind == "commit" {
					pushed[it.ID] = true
				}
			}
		}
		if len(pushed) != 3 {
			t.Fatalf("pushed %d commits, want 3", len(pushed))
		}
		for _, c := range e.truth("commits", from) {
			if pushed[c["commit_id"].(string)] {
				t.Fatalf("commit %s authored %s is in the truth of the window from %s", c["commit_id"], c["author_date"], from)
			}
		}
		e.calls.n.Store(0)
		run, err := e.c.Reconcile(ctx, e.key.IntegrationID)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("reconcile: %d fetched, %d recovered, %d API calls", run.ItemsFetched, run.ItemsRecovered, e.calls.n.Load())
		if run.ItemsRecovered < int64(len(pushed)) {
			t.Errorf("recovered %d items, the pushes brought %d commits", run.ItemsRecovered, len(pushed))
		}
		f := all
		f.WorkspaceID = e.key.WorkspaceID
		stored, err := db.ListCommits(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range stored {
			if !pushed[c.SHA] {
				continue
			}
			delete(pushed, c.SHA)
			if !c.AuthorDate.Equal(authored) || c.CommitterDate.Before(from) {
				t.Errorf("commit %s stored authored %s committed %s, want authored %s and committed now", c.SHA, c.AuthorDate, c.CommitterDate, authored)
			}
		}
		if len(pushed) > 0 {
			t.Errorf("backdated commits not stored after the reconciliation: %v", pushed)
		}
		e.compareWithTruth(from)
	})
}

// TestRepositoryUnknownToAzureDevOps: a repository known only from a
// webhook delivery (or deleted in Azure DevOps since) answers 404 to every
// call; the backfill and the reconciliation skip it and collect the rest,
// rather than failing the project's job again and again.
func TestRepositoryUnknownToAzureDevOps(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := newSim(t, "small")
		ctx := context.Background()
		e := newSimEnv(t, db, sim, "acme", time.Now)
		if err := db.UpsertRepository(ctx, store.Repository{Key: e.key, RepoID: "ghost-repo",
			ProjectID: e.projects[0].ProjectID, Name: "ghost"}); err != nil {
			t.Fatal(err)
		}
		if err := e.backfill(ctx); err != nil {
			t.Fatalf("backfill with a repository Azure DevOps does not know: %v", err)
		}
		e.compareWithTruth(e.window())
		if _, err := e.c.Reconcile(ctx, e.key.IntegrationID); err != nil {
			t.Fatalf("reconcile with a repository Azure DevOps does not know: %v", err)
		}
	})
}
