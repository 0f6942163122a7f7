package storetest

import (
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/store"
)

func init() {
	AddCases(
		NewCase("sync runs are recorded and listed newest first", testSyncRuns),
		NewCase("commit parents: inferred never overwrite known", testCommitParents),
		NewCase("stored fingerprints follow the collected state", testFingerprints),
		NewCase("linked work items not stored yet", testUnstoredLinkedWorkItems),
	)
}

func testSyncRuns(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "runs")
	_, err := db.RecordSyncRun(ctx, store.SyncRun{Key: f.key, Kind: "backfill", ProjectID: "p1", StartedAt: t0,
		FinishedAt: t0.Add(90 * time.Second), ItemsFetched: 120})
	must(t, err)
	_, err = db.RecordSyncRun(ctx, store.SyncRun{Key: f.key, Kind: "reconcile", StartedAt: t0.Add(time.Hour),
		FinishedAt: t0.Add(time.Hour + time.Second), ItemsFetched: 7, ItemsRecovered: 3, Error: ""})
	must(t, err)
	_, err = db.RecordSyncRun(ctx, store.SyncRun{Key: f.key, Kind: "nonsense", StartedAt: t0, FinishedAt: t0})
	if err == nil {
		t.Fatal("a run of an unknown kind was stored")
	}
	runs, err := db.ListSyncRuns(ctx, f.key, 0)
	must(t, err)
	eq(t, "runs", len(runs), 2)
	eq(t, "newest first", runs[0].Kind, "reconcile")
	eq(t, "recovered", runs[0].ItemsRecovered, int64(3))
	eq(t, "duration", runs[1].Duration(), 90*time.Second)
	other := newFixture(t, db, "other")
	runs, err = db.ListSyncRuns(ctx, other.key, 0)
	must(t, err)
	eq(t, "other workspace sees none", len(runs), 0)
}

func testCommitParents(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "parents")
	c := store.Commit{Key: f.key, RepoID: "r1", SHA: "m", ProjectID: "p1", AuthorDate: t0, CommitterDate: t0}
	must(t, db.UpsertCommit(ctx, c))
	must(t, db.SetCommitParents(ctx, f.key.IntegrationID, "r1", "m", []string{"a"}, false))
	must(t, db.SetCommitParents(ctx, f.key.IntegrationID, "r1", "m", []string{"b"}, false)) // kept: already known
	ps, err := db.CommitParents(ctx, f.key.IntegrationID, "r1", "m")
	must(t, err)
	eq(t, "inferred kept", len(ps) == 1 && ps[0] == "a", true)
	must(t, db.SetCommitParents(ctx, f.key.IntegrationID, "r1", "m", []string{"t", "s"}, true))
	must(t, db.SetCommitParents(ctx, f.key.IntegrationID, "r1", "m", []string{"x"}, false))
	ps, err = db.CommitParents(ctx, f.key.IntegrationID, "r1", "m")
	must(t, err)
	eq(t, "replaced", len(ps) == 2 && ps[0] == "t" && ps[1] == "s", true)
	// Parents of a commit that is not stored are dropped, not an error.
	must(t, db.SetCommitParents(ctx, f.key.IntegrationID, "r1", "unknown", []string{"m"}, true))
	ps, err = db.CommitParents(ctx, f.key.IntegrationID, "r1", "unknown")
	must(t, err)
	eq(t, "no parents stored for an unknown commit", len(ps), 0)
}

func testFingerprints(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "fp")
	id := f.key.IntegrationID
	_, err := db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: 7, ProjectID: "p1", RepoID: "r1",
		Status: "active", CreatedAt: t0, ProviderUpdatedAt: t0})
	must(t, err)
	must(t, db.UpsertReviewer(ctx, f.pr("r1", 7), store.Reviewer{ReviewerID: "u1", Vote: 10}))
	must(t, db.UpsertReviewer(ctx, f.pr("r1", 7), store.Reviewer{ReviewerID: "u2", Vote: -5}))
	must(t, db.UpsertComment(ctx, f.pr("r1", 7), store.Comment{ThreadID: 1, CommentID: 1, PublishedAt: t0, UpdatedAt: t0}))
	_, err = db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, WorkItemID: 42, ProjectID: "p1", Rev: 3, CreatedAt: t0, ChangedAt: t0})
	must(t, err)
	must(t, db.UpsertPipelineRun(ctx, store.PipelineRun{Key: f.key, RunID: 9, ProjectID: "p1", Status: "completed",
		Result: "succeeded", Stages: []store.Stage{{RecordID: "s1", Name: "Build"}}}))
	must(t, db.UpsertDeployment(ctx, store.Deployment{Key: f.key, DeploymentKey: "env:1", ProjectID: "p1",
		Source: "environment", Result: "failed"}))
	must(t, db.UpsertCommit(ctx, store.Commit{Key: f.key, RepoID: "r1", SHA: "abc", ProjectID: "p1", AuthorDate: t0, CommitterDate: t0}))

	for _, c := range []struct {
		kind store.SyncKind
		keys []string
		want map[string]string
	}{
		{store.SyncPullRequest, []string{"r1:7", "r1:8", "r2:7", "7"}, map[string]string{"r1:7": "active||1|5"}},
		{store.SyncWorkItem, []string{"42"}, map[string]string{"42": "3"}},
		{store.SyncPipelineRun, []string{"9"}, map[string]string{"9": "completed|succeeded|1"}},
		{store.SyncDeployment, []string{"env:1", "env:2"}, map[string]string{"env:1": "failed"}},
		{store.SyncCommit, []string{"r1:abc", "r1:def"}, map[string]string{"r1:abc": "1"}},
	} {
		got, err := db.StoredFingerprints(ctx, c.kind, id, c.keys)
		must(t, err)
		eq(t, string(c.kind)+" count", len(got), len(c.want))
		for k, v := range c.want {
			eq(t, string(c.kind)+" "+k, got[k], v)
		}
	}
	other := newFixture(t, db, "fp-other")
	got, err := db.StoredFingerprints(ctx, store.SyncPullRequest, other.key.IntegrationID, []string{"r1:7"})
	must(t, err)
	eq(t, "other integration", len(got), 0)
}

func testUnstoredLinkedWorkItems(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "linked")
	for _, l := range []store.WorkItemLink{
		{Key: f.key, WorkItemID: 5, TargetKind: "commit", TargetID: "r1:abc", Origin: "mention"},
		{Key: f.key, WorkItemID: 5, TargetKind: "pull_request", TargetID: "r1:7", Origin: "pr_ref"},
		{Key: f.key, WorkItemID: 6, TargetKind: "commit", TargetID: "r1:abc", Origin: "commit_ref"},
	} {
		must(t, db.AddWorkItemLink(ctx, l))
	}
	_, err := db.UpsertWorkItem(ctx, store.WorkItem{Key: f.key, WorkItemID: 6, ProjectID: "p1", Rev: 1, CreatedAt: t0, ChangedAt: t0})
	must(t, err)
	ids, err := db.UnstoredLinkedWorkItems(ctx, f.key.IntegrationID, "")
	must(t, err)
	eq(t, "unstored", len(ids) == 1 && ids[0] == 5, true)
}
